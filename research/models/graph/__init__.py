"""Graph models with shared encoders: GatedGCN, the Graph Transformer, GraphGPS, Graphormer, GRIT, SAN and Exphormer."""

from research.models.graph.exphormer import Exphormer
from research.models.graph.gated_gcn import GatedGCN
from research.models.graph.gps import GPS
from research.models.graph.graphormer import Graphormer
from research.models.graph.grit import GRIT
from research.models.graph.gt import GraphTransformer
from research.models.graph.san import SAN

__all__ = ["Exphormer", "GPS", "GRIT", "GatedGCN", "Graphormer", "GraphTransformer", "SAN"]
