"""Shared neural-network building blocks (dense layers, MLPs, attention, norms)."""

from research.nn.attention import MultiHeadAttention, dot_product_attention
from research.nn.dense import dense
from research.nn.mlp import MLP, MLPReadout
from research.nn.norm import Norm

__all__ = ["MLP", "MLPReadout", "MultiHeadAttention", "Norm", "dense", "dot_product_attention"]
