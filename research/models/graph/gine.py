"""GINE convolution: GIN with edge features.

Hu et al., "Strategies for Pre-training Graph Neural Networks" (ICLR 2020),
Eq. (GINE) in the form of PyTorch Geometric's `GINEConv` (the local MPNN of
GraphGPS on ZINC), for an edge j -> i:

  h_i' = MLP((1 + eps) h_i + sum_{j in N(i)} ReLU(h_j + e_ji)),   eps = 0 (fixed)

with MLP = Linear -> ReLU -> Linear, all of width `dim`.
"""

from __future__ import annotations

import jax
from flax import nnx

from research.graph.batch import GraphBatch
from research.nn.mlp import MLP


class GINEConv(nnx.Module):
  """h: [B, N, D], e: [S, E, D] -> [B, N, D] (padded nodes are not masked here)."""

  def __init__(self, dim: int, *, eps: float = 0.0, rngs: nnx.Rngs):
    self.mlp = MLP(dim, [dim], dim, rngs=rngs)
    self.eps = eps

  def __call__(self, h: jax.Array, e: jax.Array, graph: GraphBatch) -> jax.Array:
    messages = jax.nn.relu(graph.gather(h, graph.senders) + e)  # [S, E, D]
    aggregated = graph.aggregate(messages, graph.receivers)  # [B, N, D]
    return self.mlp((1.0 + self.eps) * h + aggregated)
