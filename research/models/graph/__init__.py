"""Graph models: GatedGCN and the Graph Transformer, with shared encoders."""

from research.models.graph.gated_gcn import GatedGCN
from research.models.graph.gt import GraphTransformer

__all__ = ["GatedGCN", "GraphTransformer"]
