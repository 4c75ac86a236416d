"""Multi-layer perceptrons: a generic MLP and the Benchmarking-GNNs readout MLP."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
from flax import nnx

from research.nn.dense import dense


class MLP(nnx.Module):
  """[Linear -> activation -> dropout] per hidden width, then a final Linear.

  Logical axes: the first layer reads `in_axis`, hidden widths are "mlp", the
  last layer writes `out_axis`.
  """

  def __init__(
    self,
    in_dim: int,
    hidden_dims: Sequence[int],
    out_dim: int,
    *,
    activation: Callable[[jax.Array], jax.Array] = jax.nn.relu,
    dropout: float = 0.0,
    in_axis: str | None = "embed",
    out_axis: str | None = "embed",
    rngs: nnx.Rngs,
  ):
    dims = [in_dim, *hidden_dims, out_dim]
    in_axes = [in_axis] + [None] * (len(dims) - 2)
    out_axes = ["mlp"] * (len(dims) - 2) + [out_axis]
    if len(dims) > 2:
      in_axes[-1] = "mlp"  # hidden -> out reads the "mlp" width
    self.layers = nnx.List(
      dense(d_in, d_out, axes=(a_in, a_out), rngs=rngs)
      for d_in, d_out, a_in, a_out in zip(dims[:-1], dims[1:], in_axes, out_axes)
    )
    self.activation = activation
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    """[..., in_dim] -> [..., out_dim]."""
    for layer in self.layers[:-1]:
      x = self.dropout(self.activation(layer(x)))
    return self.layers[-1](x)


class MLPReadout(MLP):
  """Readout of Benchmarking GNNs: in -> in/2 -> in/4 -> out with ReLU, no dropout.

  Widths halve (integer division) `num_hidden` times, as in the reference
  `layers/mlp_readout_layer.py` of Dwivedi et al., "Benchmarking Graph Neural
  Networks" (JMLR 2023).
  """

  def __init__(self, in_dim: int, out_dim: int, *, num_hidden: int = 2, rngs: nnx.Rngs):
    hidden = [in_dim // 2 ** (layer + 1) for layer in range(num_hidden)]
    super().__init__(in_dim, hidden, out_dim, out_axis="vocab", rngs=rngs)
