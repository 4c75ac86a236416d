"""The train state: everything a resumed run needs, as one sharded pytree."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax
from flax import nnx


@flax.struct.dataclass
class TrainState:
  """Model parameters and statistics, optimizer state, and the host-side schedule state.

  step:          number of completed training steps
  params:        nnx.State of the model's nnx.Param variables
  model_state:   nnx.State of the other variables that training updates (BatchNorm statistics)
  opt_state:     optax state
  lr_scale:      multiplier of the learning rate that reduce-on-plateau lowers
  plateau_best / plateau_bad: reduce-on-plateau's best validation loss and count of bad evaluations
  best_metric / best_step: the best validation value of the selection metric so far, and its step
  """

  step: jax.Array
  params: nnx.State
  model_state: nnx.State
  opt_state: optax.OptState
  lr_scale: jax.Array
  plateau_best: jax.Array
  plateau_bad: jax.Array
  best_metric: jax.Array
  best_step: jax.Array


def create(params: nnx.State, model_state: nnx.State, tx: optax.GradientTransformation, select_mode: str) -> TrainState:
  worst = -jnp.inf if select_mode == "max" else jnp.inf
  return TrainState(
    step=jnp.zeros((), jnp.int32),
    params=params,
    model_state=model_state,
    opt_state=tx.init(params),
    lr_scale=jnp.ones((), jnp.float32),
    plateau_best=jnp.full((), jnp.inf, jnp.float32),
    plateau_bad=jnp.zeros((), jnp.int32),
    best_metric=jnp.full((), worst, jnp.float32),
    best_step=jnp.full((), -1, jnp.int32),
  )


def host_fields(state: TrainState) -> dict[str, Any]:
  """The scalar schedule fields as Python numbers."""
  names = ("step", "lr_scale", "plateau_best", "plateau_bad", "best_metric", "best_step")
  return {n: jax.device_get(getattr(state, n)).item() for n in names}
