"""Prediction heads of the GraphGPS family: GraphGym's node MLP, and pooling + halving MLP for graphs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.models.graph.encoders import POOLINGS, pool_nodes
from research.nn.dense import dense
from research.nn.mlp import MLPReadout

HEADS = ("node", "graph")


class GraphGymMLPHead(nnx.Module):
  """GraphGym's `MLP` head with `layers_post_mp = L` ("inductive_node" in GraphGPS).

  [Linear -> ReLU -> L2-normalise] x (L - 1), then Linear to `out_dim`. The L2
  normalisation of every hidden layer is GraphGym's `LayerConfig.has_l2norm`
  default (True), which GraphGPS's heads inherit; it is kept for fidelity.
  """

  def __init__(self, dim: int, out_dim: int, *, num_layers: int, rngs: nnx.Rngs):
    if num_layers < 1:
      raise ConfigError(f"The head needs num_layers >= 1; got {num_layers}.")
    self.hidden = nnx.List(dense(dim, dim, axes=("embed", "mlp"), rngs=rngs) for _ in range(num_layers - 1))
    self.out = dense(dim, out_dim, axes=("mlp" if num_layers > 1 else "embed", "vocab"), rngs=rngs)

  def __call__(self, h: jax.Array) -> jax.Array:
    """[..., dim] -> [..., out_dim]."""
    for layer in self.hidden:
      h = jax.nn.relu(layer(h))
      h = h / jnp.maximum(jnp.linalg.norm(h, axis=-1, keepdims=True), 1e-12)  # torch F.normalize(p=2)
    return self.out(h)


class GraphGPSHead(nnx.Module):
  """The heads GraphGPS, GRIT and Exphormer configure.

  "node" ("inductive_node"): GraphGymMLPHead with `num_layers` layers on every
  node, [B, N, D] -> [B, N, out], zero on padded nodes. "graph" ("san_graph"):
  `pooling` over each graph's real nodes, then Linear + ReLU layers halving the
  width `num_layers - 1` times and a Linear to `out_dim`, [B, N, D] -> [B, out].
  """

  def __init__(self, dim: int, out_dim: int, *, kind: str, num_layers: int, pooling: str, rngs: nnx.Rngs):
    if kind not in HEADS:
      raise ConfigError(f"Unknown head={kind!r}; expected one of {HEADS}.")
    if kind == "graph" and pooling not in POOLINGS:
      raise ConfigError(f"Unknown graph_pooling={pooling!r}; expected one of {POOLINGS}.")
    self.kind = kind
    self.pooling = pooling
    if kind == "node":
      self.mlp = GraphGymMLPHead(dim, out_dim, num_layers=num_layers, rngs=rngs)
    else:
      self.mlp = MLPReadout(dim, out_dim, num_hidden=num_layers - 1, rngs=rngs)

  def __call__(self, h: jax.Array, node_mask: jax.Array) -> jax.Array:
    if self.kind == "graph":
      return self.mlp(pool_nodes(h, node_mask, self.pooling))  # [B, out]
    return jnp.where(node_mask[..., None], self.mlp(h), 0.0)  # [B, N, out]
