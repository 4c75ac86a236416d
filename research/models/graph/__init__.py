"""Graph models with shared encoders: GatedGCN, the Graph Transformer, GraphGPS, Graphormer and GRIT."""

from research.models.graph.gated_gcn import GatedGCN
from research.models.graph.gps import GPS
from research.models.graph.graphormer import Graphormer
from research.models.graph.grit import GRIT
from research.models.graph.gt import GraphTransformer

__all__ = ["GPS", "GRIT", "GatedGCN", "Graphormer", "GraphTransformer"]
