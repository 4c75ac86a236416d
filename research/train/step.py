"""The jitted train and eval steps (pure functions of the train state and a batch)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from research.tasks.base import Task
from research.train import diagnostics
from research.train.state import TrainState


def clip_by_global_norm(grads: Any, max_norm: float) -> tuple[Any, jax.Array, jax.Array]:
  """(clipped grads, norm before, norm after); max_norm <= 0 disables clipping."""
  norm = optax.global_norm(grads)
  if max_norm <= 0:
    return grads, norm, norm
  scale = jnp.minimum(1.0, max_norm / (norm + 1e-12))
  clipped = jax.tree.map(lambda g: g * scale.astype(g.dtype), grads)
  return clipped, norm, norm * scale


def train_step(
  state: TrainState,
  batch: dict[str, jax.Array],
  rng_state: nnx.State,
  *,
  graphdef: nnx.GraphDef,
  task: Task,
  tx: optax.GradientTransformation,
  schedule: optax.Schedule,
  grad_clip_norm: float,
  seed: int,
) -> tuple[TrainState, dict[str, jax.Array]]:
  """One optimizer step. A step whose loss or gradient is non-finite leaves the state unchanged
  (except the step count) and reports which modules' gradients were non-finite."""
  step_key = jax.random.fold_in(jax.random.key(seed), state.step)

  def loss_fn(params: nnx.State) -> tuple[jax.Array, tuple[dict[str, jax.Array], nnx.State]]:
    # copy=True: fresh Variables at this trace level, which dropout may then advance.
    model = nnx.merge(graphdef, params, rng_state, state.model_state, copy=True)
    nnx.reseed(model, dropout=step_key)
    loss, metrics = task.loss(model, batch)
    _, _, _, model_state = nnx.split(model, nnx.Param, nnx.RngState, ...)
    return loss, (metrics, model_state)

  (loss, (metrics, model_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  clipped, grad_norm, clipped_norm = clip_by_global_norm(grads, grad_clip_norm)
  directions, opt_state = tx.update(clipped, state.opt_state, state.params)
  learning_rate = schedule(state.step) * state.lr_scale
  updates = jax.tree.map(lambda d: -learning_rate * d, directions)
  params = optax.apply_updates(state.params, updates)

  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
  keep = lambda new, old: jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)
  new_state = state.replace(
    step=state.step + 1,
    params=keep(params, state.params),
    model_state=keep(model_state, state.model_state),
    opt_state=keep(opt_state, state.opt_state),
  )
  out = {
    "loss": loss,
    "learning_rate": learning_rate,
    "finite": finite,
    "nonfinite_modules": diagnostics.nonfinite_modules(grads),
    **{f"batch_{k}": v for k, v in metrics.items()},
    "diagnostics": diagnostics.step_statistics(grads, clipped_norm, state.params, updates),
  }
  return new_state, out


def eval_step(
  state: TrainState, batch: dict[str, jax.Array], rng_state: nnx.State, *, graphdef: nnx.GraphDef, task: Task
) -> dict[str, jax.Array]:
  """Metric sums of one batch, with the model in eval mode."""
  model = nnx.merge(graphdef, state.params, rng_state, state.model_state)
  return task.eval_sums(model, batch)


def sample_step(
  state: TrainState, batch: dict[str, jax.Array], rng_state: nnx.State, *, graphdef: nnx.GraphDef, task: Task
) -> dict[str, jax.Array]:
  """What the task draws of one batch (inputs and predictions), with the model in eval mode."""
  model = nnx.merge(graphdef, state.params, rng_state, state.model_state)
  return task.sample_outputs(model, batch)
