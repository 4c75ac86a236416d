"""Graph models with shared encoders: GatedGCN, the Graph Transformer and GraphGPS."""

from research.models.graph.gated_gcn import GatedGCN
from research.models.graph.gps import GPS
from research.models.graph.gt import GraphTransformer

__all__ = ["GPS", "GatedGCN", "GraphTransformer"]
