"""`train_and_evaluate(config, workdir)`: the one training loop of the zoo.

The loop, in order: check the config (no devices, no data); claim the workdir
(process 0 locks it; a restart under a config that computes something else is
refused, research/train/workdir.py); build the mesh, the abstract model and the
input pipeline for this process's rows; create the train state already sharded
(init under jit with out_shardings) or restore it; then step, log, evaluate,
checkpoint. Everything a resumed run needs is in the checkpoint (the data position
is the step), so a killed run restarted with the same command ends with exactly the
parameters of an uninterrupted one.

A run ends in final.json (written atomically) as "complete", or as "diverged" when
a step goes non-finite under on_nonfinite='raise', when on_nonfinite='skip_step'
skips `diagnostics.max_skipped_steps` steps in a row, or when the final metrics are
not finite; a diverged run then exits with one line (research.errors, exit code 2).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx
from jax.experimental import multihost_utils

from research import data as data_lib
from research import models, rundir, tasks
from research.data.prefetch import prefetch
from research.errors import ConfigError
from research.train import checkpoint as checkpoint_lib
from research.train import diagnostics, optimizers, sharding
from research.train import state as state_lib
from research.train import workdir as workdir_lib
from research.train.step import eval_step, sample_step, train_step
from research.train.writers import Progress, RunWriter

log = logging.getLogger("research.train")

ON_NONFINITE = ("raise", "skip_step")


class Preempted(SystemExit):
  """Raised after the state was saved on SIGTERM; exit code 143 as for a SIGTERM."""

  def __init__(self, step: int):
    super().__init__(143)
    self.step = step


def _positive(config: ml_collections.ConfigDict, key: str, *, allow_zero: bool = False, meaning: str = "") -> None:
  """Fails unless config.<key> (dotted) is > 0 (or >= 0 with allow_zero, `meaning` saying what 0 does)."""
  value = config
  for part in key.split("."):
    value = value[part]
  if value < 0 or (value == 0 and not allow_zero):
    bound = f">= 0 ({meaning})" if allow_zero else "> 0"
    raise ConfigError(f"config.{key}={value!r} must be {bound}.")


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks that need no devices and no data: names and values the trainer will rely on."""
  if config.diagnostics.on_nonfinite not in ON_NONFINITE:
    raise ConfigError(
      f"config.diagnostics.on_nonfinite={config.diagnostics.on_nonfinite!r}; choose one of {', '.join(ON_NONFINITE)}."
    )
  if config.total_steps <= 0 and config.epochs <= 0:
    raise ConfigError(
      f"config.total_steps={config.total_steps} and config.epochs={config.epochs}: set one of them "
      "to a positive number."
    )
  for key in ("total_steps", "epochs", "seed", "stop_below_lr", "sample_examples"):
    _positive(config, key, allow_zero=True, meaning="0 is allowed, negative is not")
  _positive(config, "eval_every_steps", allow_zero=True, meaning="0 evaluates once per epoch")
  for key in (
    "log_every_steps",
    "checkpoint.every_steps",
    "checkpoint.keep",
    "diagnostics.every_steps",
    "diagnostics.max_skipped_steps",
  ):
    _positive(config, key)
  if not config.eval_splits:
    raise ConfigError("config.eval_splits is empty; name at least the validation split.")
  model_kwargs = {k: v for k, v in config.model.items() if k != "name"}
  models.check_kwargs(config.model.name, model_kwargs)
  tasks.check_name(config.task)
  optimizers.check_config(config.optimizer)
  optimizers.check_warmup_before_data(config.optimizer, config.total_steps, config.epochs)
  sharding.check_rules(config.sharding.rules)


def _git_commit() -> str | None:
  try:
    out = subprocess.run(
      ["git", "rev-parse", "HEAD"],
      capture_output=True,
      text=True,
      timeout=5,
      cwd=os.path.dirname(os.path.abspath(__file__)),
    )
    return out.stdout.strip() or None
  except (OSError, subprocess.SubprocessError):
    return None


def _scalar(value: float | int, layout: sharding.Layout, dtype) -> jax.Array:
  """A replicated scalar, built the same way on every process."""
  return jax.make_array_from_callback((), layout.replicated(), lambda _: np.asarray(value, dtype))


def _nonfinite_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
  return {k: v for k, v in metrics.items() if not math.isfinite(v)}


class NonFiniteMonitor:
  """Reads the train step's `finite` flag one step late, so that the host never stalls the device.

  `push` records a step and checks the one before; `flush` checks the pending step (before the host
  logs, evaluates or saves the state). With on_nonfinite='raise' a non-finite step raises
  NonFiniteError; with 'skip_step' the step was skipped (the state left as it was) and
  `max_skipped` skipped steps in a row raise it.
  """

  def __init__(self, describe, *, on_nonfinite: str, max_skipped: int):
    self.describe = describe  # (step, out) -> the message naming the first non-finite module
    self.on_nonfinite = on_nonfinite
    self.max_skipped = max_skipped
    self.skipped_in_a_row = 0
    self._pending: tuple[int, dict[str, Any]] | None = None

  def push(self, step: int, out: dict[str, Any]) -> None:
    self.flush()
    self._pending = (step, out)

  def flush(self) -> None:
    if self._pending is not None:
      step, out = self._pending
      self._pending = None
      self._check(step, out)

  def _check(self, step: int, out: dict[str, Any]) -> None:
    if bool(out["finite"]):
      self.skipped_in_a_row = 0
      return
    message = self.describe(step, out)
    if self.on_nonfinite == "raise":
      raise diagnostics.NonFiniteError(message, step)
    self.skipped_in_a_row += 1
    log.warning("%s Step skipped (%d in a row).", message, self.skipped_in_a_row)
    if self.skipped_in_a_row >= self.max_skipped:
      raise diagnostics.NonFiniteError(
        f"{self.skipped_in_a_row} steps in a row were non-finite and skipped (the last: step {step}; "
        f"config.diagnostics.max_skipped_steps={self.max_skipped}). {message}",
        step,
      )


class Trainer:
  """Holds what one run needs: mesh, pipeline, jitted steps, checkpoints, writers."""

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    validate(config)
    nnx.use_eager_sharding(False)
    self.config = config
    self.workdir = workdir
    self.layout = sharding.Layout.from_config(config.mesh, config.sharding.rules)
    data_lib.check_config(config.data, self.layout.num_batch_shards)
    for key in ("batch_size", "eval_batch_size"):
      self.layout.check_batch_divisible(config.data[key], f"config.data.{key}")
    self.task = tasks.get_task(config.task)
    self.select_metric = config.select_metric or self.task.select_metric
    self._build_model_definitions()  # a model the config cannot build fails here, before any data is read
    self.tx = optimizers.build_optimizer(config.optimizer)
    self.pipeline = data_lib.build_pipeline(
      config.data,
      seed=config.seed,
      train_rows=self.layout.process_batch_rows(config.data.batch_size),
      eval_rows=self.layout.process_batch_rows(config.data.eval_batch_size),
    )
    self.steps_per_epoch = self.pipeline.steps_per_epoch
    self.total_steps = config.total_steps or config.epochs * self.steps_per_epoch
    self.eval_every = config.eval_every_steps or self.steps_per_epoch
    optimizers.check_warmup(config.optimizer, self.total_steps, self.steps_per_epoch)
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
    self._sample_batch = None  # the first evaluation batch, drawn after each evaluation

  # ------------------------------------------------------------------ state

  def _new_model(self) -> nnx.Module:
    kwargs = {k: v for k, v in self.config.model.items() if k != "name"}
    seed = self.config.seed
    return models.build_model(self.config.model.name, rngs=nnx.Rngs(params=seed, dropout=seed + 1), **kwargs)

  def _build_model_definitions(self) -> None:
    """The model's train- and eval-mode graph definitions and module order, from an abstract build."""
    self.module_order: dict[str, int] = {}

    def build() -> nnx.Module:
      model = self._new_model()
      # read before nnx.eval_shape rebuilds the model, which sorts its attributes by name
      self.module_order.update(diagnostics.definition_order(model))
      return model

    try:
      abstract_model = nnx.eval_shape(build)
    except ConfigError as e:  # the model's own checks of its constructor arguments
      raise ConfigError(f"config.model ({self.config.model.name}): {e}") from e
    abstract_model.train()
    self.train_graphdef = nnx.split(abstract_model, nnx.Param, nnx.RngState, ...)[0]
    abstract_model.eval()
    self.eval_graphdef = nnx.split(abstract_model, nnx.Param, nnx.RngState, ...)[0]

  def _init(self) -> tuple[state_lib.TrainState, nnx.State]:
    model = self._new_model()
    _, params, rng_state, model_state = nnx.split(model, nnx.Param, nnx.RngState, ...)
    return state_lib.create(params, model_state, self.tx, self.task.select_mode), rng_state

  def _build_state_functions(self) -> None:
    self.abstract_state, abstract_rng = jax.eval_shape(self._init)
    self.state_shardings = self.layout.state_shardings(self.abstract_state)
    rng_shardings = jax.tree.map(lambda _: self.layout.replicated(), abstract_rng)
    batch_sharding, replicated = self.layout.batch(), self.layout.replicated()
    self.init_state = jax.jit(self._init, out_shardings=(self.state_shardings, rng_shardings))
    self.train_step = jax.jit(
      functools.partial(
        train_step,
        graphdef=self.train_graphdef,
        task=self.task,
        tx=self.tx,
        schedule=self.schedule,
        grad_clip_norm=self.config.optimizer.grad_clip_norm,
        seed=self.config.seed,
      ),
      in_shardings=(self.state_shardings, batch_sharding, rng_shardings),
      out_shardings=(self.state_shardings, replicated),
      donate_argnums=0,
    )
    eval_kwargs = dict(in_shardings=(self.state_shardings, batch_sharding, rng_shardings), out_shardings=replicated)
    self.eval_step = jax.jit(functools.partial(eval_step, graphdef=self.eval_graphdef, task=self.task), **eval_kwargs)
    self.sample_step = jax.jit(
      functools.partial(sample_step, graphdef=self.eval_graphdef, task=self.task), **eval_kwargs
    )
    self.module_names = diagnostics.module_names(self.abstract_state.params)
    self.statistic_names = diagnostics.statistic_names(self.abstract_state.params)

  def restore_target(self) -> Any:
    return checkpoint_lib.abstract_with_shardings(self.abstract_state, self.state_shardings)

  def num_params(self) -> int:
    return sum(math.prod(x.shape) for x in jax.tree.leaves(self.abstract_state.params))

  def restore_or_init(self) -> state_lib.TrainState:
    """The newest checkpoint that restores, else a new state (saying so when checkpoints were moved aside)."""
    state, self.rng_state = self.init_state()
    restored = self.checkpoints.restore_latest(self.restore_target())
    if restored is not None:
      log.info("Resumed from %s at step %d.", self.checkpoints.directory, restored[0])
      return restored[1]
    if self.checkpoints.moved_aside:
      log.warning(
        "No checkpoint in %s could be restored (moved aside: %s); training from step 0.",
        self.checkpoints.directory,
        ", ".join(self.checkpoints.moved_aside),
      )
    return state

  # ------------------------------------------------------------------ evaluation

  def evaluate(self, state: state_lib.TrainState, split: str) -> dict[str, float]:
    sums = None
    for batch in self.pipeline.eval_batches(split):
      out = self.eval_step(state, self.layout.global_batch(batch), self.rng_state)
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
    batch = self.layout.global_batch(self._sample_batch)
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
      best, bad, scale = self.plateau.update(
        metrics[f"{first}/loss"], host["plateau_best"], host["plateau_bad"], host["lr_scale"]
      )
      state = state.replace(
        plateau_best=_scalar(best, self.layout, np.float32),
        plateau_bad=_scalar(bad, self.layout, np.int32),
        lr_scale=_scalar(scale, self.layout, np.float32),
      )
    value = metrics[f"{first}/{self.select_metric}"]
    better = value > host["best_metric"] if self.task.select_mode == "max" else value < host["best_metric"]
    if better:
      state = state.replace(
        best_metric=_scalar(value, self.layout, np.float32), best_step=_scalar(host["step"], self.layout, np.int32)
      )
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
      log.info(
        "Learning rate %.3g is below config.stop_below_lr=%.3g: stopping at step %d.",
        lr,
        self.config.stop_below_lr,
        step,
      )
      return True
    return False

  def _on_sigterm(self, signum, frame) -> None:
    log.warning("SIGTERM received: saving a checkpoint after the current step, then exiting.")
    self._preempted = True

  def _preemption_requested(self, step: int) -> bool:
    """SIGTERM seen by any process (agreed on at logging steps when there are several)."""
    if jax.process_count() == 1:
      return self._preempted
    if step % self.config.log_every_steps:
      return False
    return bool(np.any(multihost_utils.process_allgather(np.asarray(self._preempted))))

  def _describe_nonfinite(self, step: int, out: dict[str, Any]) -> str:
    return diagnostics.describe_nonfinite(
      step, float(out["loss"]), self.module_names, np.asarray(out["nonfinite_modules"]), self.module_order
    )

  def _batches(self, start_step: int) -> Iterator[tuple[dict[str, jax.Array], float]]:
    """Global batches already on the devices, with the seconds the loop waited for each."""
    batches = prefetch(self.pipeline.train_batches(start_step), self.layout.global_batch, self.config.data.prefetch)
    try:
      while True:
        t0 = time.perf_counter()
        batch = next(batches)
        yield batch, time.perf_counter() - t0
    finally:
      batches.close()  # stops the prefetch thread before the devices go away

  def _host_work_due(self, step: int) -> bool:
    """Whether the host reads or stores the state after `step` (so its finite flag must be read first)."""
    c = self.config
    return (
      step % c.log_every_steps == 0
      or step % self.eval_every == 0
      or step == self.total_steps
      or step % c.checkpoint.every_steps == 0
      or step % c.diagnostics.every_steps == 0
      or self._preempted
    )

  def run(self) -> dict[str, Any]:
    config, workdir = self.config, self.workdir
    start_time = time.time()
    state = self.restore_or_init()
    start_step = int(jax.device_get(state.step))
    log.info(
      "%s: %d parameters, %d steps (%d per epoch), mesh %s, %d devices in %d processes.",
      config.model.name,
      self.num_params(),
      self.total_steps,
      self.steps_per_epoch,
      dict(self.layout.mesh.shape),
      jax.device_count(),
      jax.process_count(),
    )
    self._set_aside_final(start_step)
    writer = RunWriter(workdir, start_step)
    progress = Progress(start_step, self.total_steps, config.data.batch_size)
    monitor = NonFiniteMonitor(
      self._describe_nonfinite,
      on_nonfinite=config.diagnostics.on_nonfinite,
      max_skipped=config.diagnostics.max_skipped_steps,
    )
    previous_handler = signal.signal(signal.SIGTERM, self._on_sigterm)
    input_wait, step_time_start, last_eval = 0.0, time.perf_counter(), {}
    batches = self._batches(start_step)
    step = start_step
    try:
      while step < self.total_steps and not self._lr_below_stop(state, step):
        batch, waited = next(batches)
        input_wait += waited
        state, out = self.train_step(state, batch, self.rng_state)
        step += 1
        monitor.push(step, out)  # checks the previous step's flag while this one runs
        if not self._host_work_due(step):
          continue
        monitor.flush()
        self._log(step, out, writer, progress)
        if step % self.eval_every == 0 or step == self.total_steps:
          state, last_eval = self._evaluate_and_select(state, step, writer)
          progress.restart_clock(step)
        self._save_periodic(step, state)
        self._stop_if_preempted(step, state)
      monitor.flush()
      train_seconds = time.perf_counter() - step_time_start
      self._save_final(step, state)
      timing = {"input_wait": input_wait, "train": train_seconds, "wall": time.time() - start_time}
      final = self._final_report(state, step, start_step, last_eval, timing)
    except diagnostics.NonFiniteError as error:
      final = self._divergence_report(step, start_step, last_eval, error, time.time() - start_time)
    finally:
      batches.close()
      signal.signal(signal.SIGTERM, previous_handler)
      writer.close()
      self.checkpoints.close()
      if self.best_checkpoint is not None:
        self.best_checkpoint.close()
    self._write_final(final)
    if final["status"] == rundir.DIVERGED:
      raise diagnostics.NonFiniteError(
        f"{final['reason']} Recorded as diverged in {os.path.join(workdir, rundir.FINAL)}."
      )
    return final

  def _log(self, step: int, out: dict[str, Any], writer: RunWriter, progress: Progress) -> None:
    """Training scalars every log_every_steps, diagnostics every diagnostics.every_steps."""
    if step % self.config.log_every_steps == 0 or step == self.total_steps:
      logged = {k: v for k, v in out.items() if k not in ("finite", "nonfinite_modules", "diagnostics")}
      scalars = {"train/" + k.removeprefix("batch_"): float(v) for k, v in jax.device_get(logged).items()}
      writer.metrics(step, scalars)
      log.info(progress.line(step, {"loss": scalars["train/loss"], "lr": scalars["train/learning_rate"]}))
    if step % self.config.diagnostics.every_steps == 0:
      writer.diagnostics(step, dict(zip(self.statistic_names, jax.device_get(out["diagnostics"]).tolist())))

  def _evaluate_and_select(self, state, step: int, writer: RunWriter) -> tuple[state_lib.TrainState, dict[str, float]]:
    metrics = self.evaluate_all(state)
    state = self._after_eval(state, metrics)
    writer.metrics(step, {**metrics, "train/learning_rate": self._learning_rate(state, step)})
    log.info("eval at step %d: %s", step, " ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    self.save_samples(state, step)
    return state, metrics

  def _save_periodic(self, step: int, state: state_lib.TrainState) -> None:
    if step % self.config.checkpoint.every_steps == 0:
      self.checkpoints.save(step, state)

  def _stop_if_preempted(self, step: int, state: state_lib.TrainState) -> None:
    """On SIGTERM: a checkpoint of this step, then `Preempted`."""
    if self._preemption_requested(step):
      self.checkpoints.save(step, state, force=True)
      self.checkpoints.wait()
      log.warning("Saved a checkpoint at step %d after SIGTERM; rerun the same command to resume.", step)
      raise Preempted(step)

  def _save_final(self, step: int, state: state_lib.TrainState) -> None:
    self.checkpoints.save(step, state, force=True)
    self.checkpoints.wait()

  # ------------------------------------------------------------------ final.json

  def _set_aside_final(self, start_step: int) -> None:
    """Keeps an earlier end's final.json as final.step_<step>.json while the run trains on from it."""
    path = os.path.join(self.workdir, rundir.FINAL)
    if jax.process_index() == 0 and start_step < self.total_steps and os.path.exists(path):
      os.replace(path, os.path.join(self.workdir, f"final.step_{start_step}.json"))

  def _run_facts(self) -> dict[str, Any]:
    return {
      "num_params": self.num_params(),
      "devices": jax.device_count(),
      "device_kind": jax.devices()[0].device_kind,
      "processes": jax.process_count(),
      "mesh": dict(self.layout.mesh.shape),
      "commit": _git_commit(),
    }

  def _best_block(self) -> dict[str, Any] | None:
    """The evaluation of the best checkpoint: {"step": ..., "<split>/<metric>": ...}, or None."""
    if self.best_checkpoint is None:
      return None
    self.best_checkpoint.wait()
    restored = self.best_checkpoint.restore_latest(self.restore_target())
    return None if restored is None else {"step": restored[0], **self.evaluate_all(restored[1])}

  def _write_final(self, final: dict[str, Any]) -> None:
    if jax.process_index() == 0:
      rundir.write_json(os.path.join(self.workdir, rundir.FINAL), final)

  def _final_report(
    self, state, step: int, start_step: int, last_eval: dict[str, float], timing: dict[str, float]
  ) -> dict[str, Any]:
    """final.json of a run that trained to its end: complete, or diverged if its final metrics are not finite."""
    final_metrics = last_eval or self.evaluate_all(state)
    final = {
      "status": rundir.COMPLETE,
      "step": step,
      "total_steps": self.total_steps,
      "final": final_metrics,
      "best": self._best_block() if state_lib.host_fields(state)["best_step"] >= 0 else None,
      "wall_time_s": timing["wall"],
      "train_time_s": timing["train"],
      "steps_this_run": step - start_step,
      "input_wait_fraction": timing["input_wait"] / max(timing["train"], 1e-9),
      **self._run_facts(),
    }
    bad = _nonfinite_metrics(final_metrics)
    if bad:
      final["status"] = rundir.DIVERGED
      final["reason"] = (
        f"The run ended with non-finite metrics ({', '.join(f'{k}={v}' for k, v in bad.items())}) at step {step}."
      )
    return final

  def _divergence_report(
    self,
    step: int,
    start_step: int,
    last_eval: dict[str, float],
    error: diagnostics.NonFiniteError,
    wall_seconds: float,
  ) -> dict[str, Any]:
    """final.json of a run stopped by non-finite steps (its last evaluation, if any, as "final")."""
    return {
      "status": rundir.DIVERGED,
      "reason": str(error),
      "nonfinite_step": error.step,
      "step": step,
      "total_steps": self.total_steps,
      "final": last_eval,
      "best": None,
      "wall_time_s": wall_seconds,
      "steps_this_run": step - start_step,
      **self._run_facts(),
    }


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


def train_and_evaluate(
  config: ml_collections.ConfigDict, workdir: str, *, adopt_config: bool = False
) -> dict[str, Any]:
  """Trains (or resumes) the run in `workdir` and returns the contents of final.json.

  The workdir is claimed first (locked for the run's life, checked against its config.json), so a
  second run on it, an unwritable workdir or a changed config stop before any data is built.
  """
  validate(config)
  with workdir_lib.claim(workdir, config, adopt_config):
    return Trainer(config, workdir).run()
