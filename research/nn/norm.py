"""Feature normalisation for padded node/edge sets."""

from __future__ import annotations

import jax
from flax import nnx


class Norm(nnx.Module):
  """Optional LayerNorm, then optional BatchNorm, over the last axis.

  BatchNorm statistics skip padded entries (`mask`). Epsilon 1e-5 and a running
  average momentum of 0.9 match PyTorch's LayerNorm/BatchNorm1d defaults.
  """

  def __init__(self, dim: int, *, batch_norm: bool = True, layer_norm: bool = False, rngs: nnx.Rngs):
    self.layer_norm = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs) if layer_norm else None
    self.batch_norm = nnx.BatchNorm(dim, momentum=0.9, epsilon=1e-5, rngs=rngs) if batch_norm else None

  def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
    """x: [..., D], mask: [...] bool (True = real entry) -> [..., D]."""
    if self.layer_norm is not None:
      x = self.layer_norm(x)
    if self.batch_norm is not None:
      x = self.batch_norm(x, mask=mask[..., None])
    return x
