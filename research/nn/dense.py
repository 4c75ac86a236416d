"""Linear layers whose parameters carry logical sharding axes.

Logical axis names understood by the trainer's sharding rules: "embed" (model
width), "mlp" (hidden width of FFNs and projections), "heads" (concatenated
attention heads), "vocab" (output classes). `None` leaves a dimension
unsharded.
"""

from __future__ import annotations

from collections.abc import Sequence

from flax import nnx

AxisNames = Sequence[str | None]


def dense(
    in_dim: int,
    out_dim: int,
    *,
    axes: AxisNames = ("embed", "mlp"),
    use_bias: bool = True,
    rngs: nnx.Rngs,
) -> nnx.Linear:
  """An nnx.Linear with kernel [in_dim, out_dim] on `axes` and bias on `axes[1]`.

  Kernels use flax's default LeCun-normal init and biases start at zero.
  """
  if len(axes) != 2:
    raise ValueError(f"axes must name the (input, output) dimensions; got {tuple(axes)}.")
  return nnx.Linear(
      in_dim,
      out_dim,
      use_bias=use_bias,
      kernel_init=nnx.with_partitioning(nnx.initializers.lecun_normal(), tuple(axes)),
      bias_init=nnx.with_partitioning(nnx.initializers.zeros_init(), (axes[1],)),
      rngs=rngs,
  )
