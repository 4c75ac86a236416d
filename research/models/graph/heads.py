"""Prediction heads of the GraphGPS family (GraphGym's post-message-passing MLP)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.nn.dense import dense


class GraphGymMLPHead(nnx.Module):
  """GraphGym's `MLP` head with `layers_post_mp = L` ("inductive_node" in GraphGPS).

  [Linear -> ReLU -> L2-normalise] x (L - 1), then Linear to `out_dim`. The L2
  normalisation of every hidden layer is GraphGym's `LayerConfig.has_l2norm`
  default (True), which GraphGPS's heads inherit; it is kept for fidelity.
  """

  def __init__(self, dim: int, out_dim: int, *, num_layers: int, rngs: nnx.Rngs):
    if num_layers < 1:
      raise ValueError(f"The head needs num_layers >= 1; got {num_layers}.")
    self.hidden = nnx.List(dense(dim, dim, axes=("embed", "mlp"), rngs=rngs) for _ in range(num_layers - 1))
    self.out = dense(dim, out_dim, axes=("mlp" if num_layers > 1 else "embed", "vocab"), rngs=rngs)

  def __call__(self, h: jax.Array) -> jax.Array:
    """[..., dim] -> [..., out_dim]."""
    for layer in self.hidden:
      h = jax.nn.relu(layer(h))
      h = h / jnp.maximum(jnp.linalg.norm(h, axis=-1, keepdims=True), 1e-12)  # torch F.normalize(p=2)
    return self.out(h)
