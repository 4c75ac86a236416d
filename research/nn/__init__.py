"""Shared neural-network building blocks (dense layers, MLPs, attention, Performer attention, norms)."""

from research.nn.attention import MultiHeadAttention, dot_product_attention
from research.nn.dense import dense
from research.nn.mlp import MLP, MLPReadout
from research.nn.norm import Norm
from research.nn.performer import PerformerSelfAttention

__all__ = [
  "MLP",
  "MLPReadout",
  "MultiHeadAttention",
  "Norm",
  "PerformerSelfAttention",
  "dense",
  "dot_product_attention",
]
