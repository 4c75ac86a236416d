"""`train_and_evaluate(config, workdir)`: the one training loop of the zoo.

The loop, in order: build the mesh and check the config against it; build the
input pipeline for this process's rows; create the train state already sharded
(init under jit with out_shardings) or restore it from the workdir; then step,
log, evaluate, checkpoint. Everything a resumed run needs is in the checkpoint
(the data position is the step), so a killed run restarted with the same command
ends with exactly the parameters of an uninterrupted one.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx
from jax.experimental import multihost_utils

from research import data as data_lib
from research import models
from research import tasks
from research.data.prefetch import prefetch
from research.train import checkpoint as checkpoint_lib
from research.train import diagnostics
from research.train import optimizers
from research.train import sharding
from research.train import state as state_lib
from research.train.step import eval_step, sample_step, train_step
from research.train.writers import Progress, RunWriter

log = logging.getLogger("research.train")

ON_NONFINITE = ("raise", "skip_step")


class Preempted(SystemExit):
  """Raised after the state was saved on SIGTERM; exit code 143 as for a SIGTERM."""

  def __init__(self, step: int):
    super().__init__(143)
    self.step = step


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks that need no devices: names and values the trainer will rely on."""
  if config.diagnostics.on_nonfinite not in ON_NONFINITE:
    raise ValueError(f"config.diagnostics.on_nonfinite={config.diagnostics.on_nonfinite!r}; choose one of {ON_NONFINITE}.")
  if config.total_steps <= 0 and config.epochs <= 0:
    raise ValueError("Set config.total_steps or config.epochs to a positive number.")
  if not config.eval_splits:
    raise ValueError("config.eval_splits is empty; name at least the validation split.")
  if config.sample_examples < 0:
    raise ValueError(f"config.sample_examples={config.sample_examples} must be >= 0 (0 draws none).")
  model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
  models.check_kwargs(config.model.name, model_kwargs)
  tasks.get_task(config.task)
  optimizers.learning_rate_schedule(config.optimizer, 1)
  optimizers.build_optimizer(config.optimizer)


def _git_commit() -> str | None:
  try:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                         cwd=os.path.dirname(os.path.abspath(__file__)))
    return out.stdout.strip() or None
  except (OSError, subprocess.SubprocessError):
    return None


def _scalar(value: float | int, mesh: jax.sharding.Mesh, dtype) -> jax.Array:
  """A replicated scalar, built the same way on every process."""
  return jax.make_array_from_callback((), sharding.replicated(mesh), lambda _: np.asarray(value, dtype))


class Trainer:
  """Holds what one run needs: mesh, pipeline, jitted steps, checkpoints, writers."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    validate(config)
    nnx.use_eager_sharding(False)
    self.config = config
    self.workdir = workdir
    self.mesh = sharding.make_mesh(config.mesh)
    for key in ("batch_size", "eval_batch_size"):
      sharding.check_batch_divisible(config.data[key], self.mesh, f"config.data.{key}")
      if config.data.get("graphs_per_pack", 1) > 1:  # edge lists are sharded by pack, not by graph
        sharding.check_packs_divisible(config.data[key], config.data.graphs_per_pack, self.mesh, f"config.data.{key}")
    self.task = tasks.get_task(config.task)
    self.select_metric = config.select_metric or self.task.select_metric
    self.pipeline = data_lib.build_pipeline(
        config.data,
        seed=config.seed,
        train_rows=sharding.process_batch_rows(self.mesh, config.data.batch_size),
        eval_rows=sharding.process_batch_rows(self.mesh, config.data.eval_batch_size),
    )
    self.steps_per_epoch = self.pipeline.steps_per_epoch
    self.total_steps = config.total_steps or config.epochs * self.steps_per_epoch
    self.eval_every = config.eval_every_steps or self.steps_per_epoch
    self.tx = optimizers.build_optimizer(config.optimizer)
    self.schedule = optimizers.learning_rate_schedule(config.optimizer, self.total_steps, self.steps_per_epoch)
    self.plateau = optimizers.Plateau(
        config.optimizer.plateau_factor, config.optimizer.plateau_patience, config.optimizer.plateau_threshold
    )
    self._build_state_functions()
    self.checkpoints = checkpoint_lib.Checkpoints(
        os.path.join(workdir, "checkpoints"), keep=config.checkpoint.keep, every_steps=config.checkpoint.every_steps
    )
    self.best_checkpoint = (
        checkpoint_lib.Checkpoints(os.path.join(workdir, "best"), keep=1) if config.checkpoint.keep_best else None
    )
    self._preempted = False
    self._checked_step = -1
    self._sample_batch = None  # the first evaluation batch, drawn after each evaluation

  # ------------------------------------------------------------------ state

  def _new_model(self) -> nnx.Module:
    kwargs = {k: v for k, v in self.config.model.items() if k != "name"}
    seed = self.config.seed
    return models.build_model(self.config.model.name, rngs=nnx.Rngs(params=seed, dropout=seed + 1), **kwargs)

  def _init(self) -> tuple[state_lib.TrainState, nnx.State]:
    model = self._new_model()
    _, params, rng_state, model_state = nnx.split(model, nnx.Param, nnx.RngState, ...)
    return state_lib.create(params, model_state, self.tx, self.task.select_mode), rng_state

  def _build_state_functions(self) -> None:
    self.module_order: dict[str, int] = {}

    def build() -> nnx.Module:
      model = self._new_model()
      # read before nnx.eval_shape rebuilds the model, which sorts its attributes by name
      self.module_order.update(diagnostics.definition_order(model))
      return model

    abstract_model = nnx.eval_shape(build)
    abstract_model.train()
    self.train_graphdef = nnx.split(abstract_model, nnx.Param, nnx.RngState, ...)[0]
    abstract_model.eval()
    self.eval_graphdef = nnx.split(abstract_model, nnx.Param, nnx.RngState, ...)[0]
    self.abstract_state, abstract_rng = jax.eval_shape(self._init)
    self.state_shardings = sharding.state_shardings(self.abstract_state, self.mesh)
    rng_shardings = jax.tree.map(lambda _: sharding.replicated(self.mesh), abstract_rng)
    batch_sharding = sharding.batch_sharding(self.mesh)
    replicated = sharding.replicated(self.mesh)
    self.init_state = jax.jit(self._init, out_shardings=(self.state_shardings, rng_shardings))
    self.train_step = jax.jit(
        functools.partial(
            train_step, graphdef=self.train_graphdef, task=self.task, tx=self.tx, schedule=self.schedule,
            grad_clip_norm=self.config.optimizer.grad_clip_norm, seed=self.config.seed,
        ),
        in_shardings=(self.state_shardings, batch_sharding, rng_shardings),
        out_shardings=(self.state_shardings, replicated),
        donate_argnums=0,
    )
    self.eval_step = jax.jit(
        functools.partial(eval_step, graphdef=self.eval_graphdef, task=self.task),
        in_shardings=(self.state_shardings, batch_sharding, rng_shardings),
        out_shardings=replicated,
    )
    self.sample_step = jax.jit(
        functools.partial(sample_step, graphdef=self.eval_graphdef, task=self.task),
        in_shardings=(self.state_shardings, batch_sharding, rng_shardings),
        out_shardings=replicated,
    )
    self.module_names = diagnostics.module_names(self.abstract_state.params)
    self.statistic_names = diagnostics.statistic_names(self.abstract_state.params)

  def restore_target(self) -> Any:
    return checkpoint_lib.abstract_with_shardings(self.abstract_state, self.state_shardings)

  def num_params(self) -> int:
    return sum(math.prod(x.shape) for x in jax.tree.leaves(self.abstract_state.params))

  # ------------------------------------------------------------------ evaluation

  def evaluate(self, state: state_lib.TrainState, split: str) -> dict[str, float]:
    sums = None
    for batch in self.pipeline.eval_batches(split):
      out = self.eval_step(state, sharding.global_batch(batch, self.mesh), self.rng_state)
      sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
    return self.task.finalize(jax.device_get(sums))

  def evaluate_all(self, state: state_lib.TrainState) -> dict[str, float]:
    return {f"{split}/{k}": v for split in self.config.eval_splits for k, v in self.evaluate(state, split).items()}

  def save_samples(self, state: state_lib.TrainState, step: int) -> str | None:
    """The task's drawing of the first evaluation batch, as <workdir>/samples/step_<step>.png (None: nothing drawn)."""
    if not (self.task.draws_samples and self.config.sample_examples):
      return None
    if self._sample_batch is None:
      self._sample_batch = self.pipeline.eval_batch(self.config.eval_splits[0], 0)
    batch = sharding.global_batch(self._sample_batch, self.mesh)
    outputs = jax.device_get(self.sample_step(state, batch, self.rng_state))
    path = os.path.join(self.workdir, "samples", f"step_{step:08d}.png")
    if jax.process_index() == 0:
      os.makedirs(os.path.dirname(path), exist_ok=True)
      self.task.save_samples(outputs, self.config.sample_examples, path)
    return path

  def _after_eval(self, state: state_lib.TrainState, metrics: dict[str, float]) -> state_lib.TrainState:
    """Reduce-on-plateau on the validation loss, and best-checkpoint selection."""
    host = state_lib.host_fields(state)
    first = self.config.eval_splits[0]
    if self.config.optimizer.schedule == "plateau":
      best, bad, scale = self.plateau.update(metrics[f"{first}/loss"], host["plateau_best"], host["plateau_bad"], host["lr_scale"])
      state = state.replace(
          plateau_best=_scalar(best, self.mesh, np.float32),
          plateau_bad=_scalar(bad, self.mesh, np.int32),
          lr_scale=_scalar(scale, self.mesh, np.float32),
      )
    value = metrics[f"{first}/{self.select_metric}"]
    better = value > host["best_metric"] if self.task.select_mode == "max" else value < host["best_metric"]
    if better:
      state = state.replace(best_metric=_scalar(value, self.mesh, np.float32), best_step=_scalar(host["step"], self.mesh, np.int32))
      if self.best_checkpoint is not None:
        self.best_checkpoint.save(host["step"], state, force=True)
    return state

  # ------------------------------------------------------------------ loop

  def _learning_rate(self, state: state_lib.TrainState, step: int) -> float:
    return float(self.schedule(step)) * state_lib.host_fields(state)["lr_scale"]

  def _lr_below_stop(self, state: state_lib.TrainState, step: int) -> bool:
    """The reduce-on-plateau stopping rule (also for a resumed run that had already stopped)."""
    if not self.config.stop_below_lr or step % self.eval_every:
      return False
    lr = self._learning_rate(state, step)
    if lr < self.config.stop_below_lr:
      log.info("Learning rate %.3g is below config.stop_below_lr=%.3g: stopping at step %d.", lr, self.config.stop_below_lr, step)
      return True
    return False

  def _on_sigterm(self, signum, frame) -> None:
    log.warning("SIGTERM received: saving a checkpoint after the current step, then exiting.")
    self._preempted = True

  def _should_stop_for_preemption(self, step: int) -> bool:
    if jax.process_count() == 1:
      return self._preempted
    if step % max(self.config.log_every_steps, 1):
      return False
    return bool(np.any(multihost_utils.process_allgather(np.asarray(self._preempted))))

  def _check_finite(self, step: int, out: dict[str, Any]) -> None:
    """Raises (or warns, for 'skip_step') if step `step` was non-finite; each step is read once."""
    if step <= self._checked_step:
      return
    self._checked_step = step
    if bool(out["finite"]):
      return
    message = diagnostics.describe_nonfinite(step, float(out["loss"]), self.module_names, np.asarray(out["nonfinite_modules"]),
                                           self.module_order)
    if self.config.diagnostics.on_nonfinite == "raise":
      raise diagnostics.NonFiniteError(message)
    log.warning("%s Step skipped.", message)

  def _batches(self, start_step: int) -> Iterator[tuple[dict[str, jax.Array], float]]:
    """Global batches already on the devices, with the seconds the loop waited for each."""
    batches = prefetch(
        self.pipeline.train_batches(start_step), lambda b: sharding.global_batch(b, self.mesh), self.config.data.prefetch
    )
    try:
      while True:
        t0 = time.perf_counter()
        batch = next(batches)
        yield batch, time.perf_counter() - t0
    finally:
      batches.close()  # stops the prefetch thread before the devices go away

  def run(self) -> dict[str, Any]:
    config, workdir = self.config, self.workdir
    start_time = time.time()
    state, self.rng_state = self.init_state()
    restored = self.checkpoints.restore_latest(self.restore_target())
    if restored is not None:
      state = restored[1]
      log.info("Resumed from %s at step %d.", self.checkpoints.manager.directory, restored[0])
    start_step = int(jax.device_get(state.step))
    log.info("%s: %d parameters, %d steps (%d per epoch), mesh %s, %d devices in %d processes.",
             config.model.name, self.num_params(), self.total_steps, self.steps_per_epoch, dict(self.mesh.shape),
             jax.device_count(), jax.process_count())
    writer = RunWriter(workdir, start_step)
    progress = Progress(start_step, self.total_steps, config.data.batch_size)
    previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
    input_wait, step_time_start, last_eval, pending = 0.0, time.perf_counter(), {}, None
    batches = self._batches(start_step)
    try:
      step = start_step
      while step < self.total_steps and not self._lr_below_stop(state, step):
        batch, waited = next(batches)
        input_wait += waited
        state, out = self.train_step(state, batch, self.rng_state)
        if pending is not None:  # checked one step late, so the host never stalls the device
          self._check_finite(*pending)
        step += 1
        pending = (step, out)
        self._log(step, out, writer, progress)
        if step % self.eval_every == 0 or step == self.total_steps:
          self._check_finite(step, out)
          state, last_eval = self._evaluate_and_select(state, step, writer)
          progress.restart_clock(step)
        self._save_if_due(step, state, out)
      if pending is not None:
        self._check_finite(*pending)
      train_seconds = time.perf_counter() - step_time_start
      if not self.checkpoints.manager.latest_step() == step:
        self.checkpoints.save(step, state, force=True)
      self.checkpoints.wait()
      return self._final_report(state, step, start_step, last_eval, input_wait, train_seconds, time.time() - start_time)
    finally:
      batches.close()
      signal.signal(signal.SIGTERM, previous_handler)
      writer.close()
      self.checkpoints.close()
      if self.best_checkpoint is not None:
        self.best_checkpoint.close()

  def _log(self, step: int, out: dict[str, Any], writer: RunWriter, progress: Progress) -> None:
    """Training scalars every log_every_steps, diagnostics every diagnostics.every_steps."""
    if step % self.config.log_every_steps == 0 or step == self.total_steps:
      self._check_finite(step, out)
      logged = {k: v for k, v in out.items() if k not in ("finite", "nonfinite_modules", "diagnostics")}
      scalars = {"train/" + k.removeprefix("batch_"): float(v) for k, v in jax.device_get(logged).items()}
      writer.metrics(step, scalars)
      log.info(progress.line(step, {"loss": scalars["train/loss"], "lr": scalars["train/learning_rate"]}))
    if self.config.diagnostics.every_steps and step % self.config.diagnostics.every_steps == 0:
      writer.diagnostics(step, dict(zip(self.statistic_names, jax.device_get(out["diagnostics"]).tolist())))

  def _evaluate_and_select(self, state, step: int, writer: RunWriter) -> tuple[state_lib.TrainState, dict[str, float]]:
    metrics = self.evaluate_all(state)
    state = self._after_eval(state, metrics)
    writer.metrics(step, {**metrics, "train/learning_rate": self._learning_rate(state, step)})
    log.info("eval at step %d: %s", step, " ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    self.save_samples(state, step)
    return state, metrics

  def _save_if_due(self, step: int, state: state_lib.TrainState, out: dict[str, Any]) -> None:
    """Periodic checkpoint; on SIGTERM, a checkpoint and then `Preempted`."""
    if step % self.config.checkpoint.every_steps == 0:
      self._check_finite(step, out)
      self.checkpoints.save(step, state)
    if self._should_stop_for_preemption(step):
      self._check_finite(step, out)
      self.checkpoints.save(step, state, force=True)
      self.checkpoints.wait()
      log.warning("Saved a checkpoint at step %d after SIGTERM; rerun the same command to resume.", step)
      raise Preempted(step)

  def _final_report(self, state, step, start_step, last_eval, input_wait, train_seconds, wall_seconds) -> dict[str, Any]:
    host = state_lib.host_fields(state)
    final = {
        "step": step,
        "total_steps": self.total_steps,
        "final": last_eval or self.evaluate_all(state),
        "best": None,
        "num_params": self.num_params(),
        "wall_time_s": wall_seconds,
        "train_time_s": train_seconds,
        "steps_this_run": step - start_step,
        "input_wait_fraction": input_wait / max(train_seconds, 1e-9),
        "devices": jax.device_count(),
        "device_kind": jax.devices()[0].device_kind,
        "processes": jax.process_count(),
        "mesh": dict(self.mesh.shape),
        "commit": _git_commit(),
    }
    if self.best_checkpoint is not None and host["best_step"] >= 0:
      self.best_checkpoint.wait()
      restored = self.best_checkpoint.restore_latest(self.restore_target())
      if restored is not None:
        final["best"] = {"step": restored[0], **self.evaluate_all(restored[1])}
    if jax.process_index() == 0:
      with open(os.path.join(self.workdir, "final.json"), "w") as f:
        json.dump(final, f, indent=2)
    return final


def load_model(config: ml_collections.ConfigDict, workdir: str, *, best: bool = True) -> tuple[nnx.Module, Trainer]:
  """The model of the run in `workdir` (trained with `config`) in eval mode, from its best checkpoint (or,
  with best=False or without one, its latest), and the Trainer that holds its data pipeline."""
  trainer = Trainer(config, workdir)
  state, rng_state = trainer.init_state()
  restored = None
  if best and trainer.best_checkpoint is not None:
    restored = trainer.best_checkpoint.restore_latest(trainer.restore_target())
  restored = restored or trainer.checkpoints.restore_latest(trainer.restore_target())
  for manager in (trainer.checkpoints, trainer.best_checkpoint):
    if manager is not None:
      manager.close()
  if restored is None:
    raise FileNotFoundError(f"No checkpoint in {workdir!r} (best/ or checkpoints/): train the run first.")
  state = restored[1]
  return nnx.merge(trainer.eval_graphdef, state.params, rng_state, state.model_state), trainer


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (or resumes) the run in `workdir` and returns the contents of final.json."""
  trainer = Trainer(config, workdir)
  write_config(config, workdir)
  return trainer.run()


def train_or_load(config: ml_collections.ConfigDict, workdir: str, quiet: bool = False) -> dict[str, Any]:
  """final.json of the finished run in `workdir`, else `train_and_evaluate` (which resumes an
  interrupted run). `quiet` keeps the trainer's progress lines out of the log (for worker pools)."""
  path = os.path.join(workdir, "final.json")
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  if quiet:
    logging.getLogger("research.train").setLevel(logging.WARNING)
  return train_and_evaluate(config, workdir)
