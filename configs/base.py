"""Trainer defaults that every experiment config starts from (the config contract of DESIGN.md)."""

from __future__ import annotations

import ml_collections

from configs import mesh as mesh_presets
from configs import optimizers


def get_base_config() -> ml_collections.ConfigDict:
  """Every key the trainer reads, with its default and therefore its type."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.workdir = ""  # default run directory when --workdir is not given
  c.task = ""  # a name registered in research.tasks

  c.model = ml_collections.ConfigDict({"name": ""})  # the rest: the model's constructor kwargs
  c.data = ml_collections.ConfigDict()
  c.data.name = ""  # a name registered in research.data
  c.data.data_dir = ""  # TFDS data directory; "" = $TFDS_DATA_DIR or ~/tensorflow_datasets
  c.data.batch_size = 32  # global, over all processes and devices
  c.data.eval_batch_size = 32  # global
  c.data.num_threads = 2  # grain reader threads per process
  c.data.prefetch = 4  # batches prepared ahead of the step
  c.data.cache = False  # decode every record once and keep it in memory (small datasets)

  c.optimizer = optimizers.adam(learning_rate=1e-3)
  c.total_steps = 0  # 0: derived from `epochs`
  c.epochs = 0  # converted once to steps with the training set size
  c.eval_every_steps = 0  # 0: once per epoch
  c.log_every_steps = 50
  c.eval_splits = ("validation", "test")  # evaluated at every eval; the first one selects the best checkpoint
  c.select_metric = ""  # e.g. "accuracy"; "" = the task's default
  c.stop_below_lr = 0.0  # stop once the learning rate falls below this (reduce-on-plateau protocols)
  c.sample_examples = 8  # examples drawn after each evaluation into <workdir>/samples/ (tasks that draw); 0 = none

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every_steps = 1000
  c.checkpoint.keep = 2
  c.checkpoint.keep_best = True

  c.mesh = mesh_presets.data_parallel()
  c.sharding = ml_collections.ConfigDict()
  c.sharding.rules = mesh_presets.logical_axis_rules()  # logical axis name -> mesh axes
  c.diagnostics = ml_collections.ConfigDict()
  c.diagnostics.every_steps = 50
  c.diagnostics.on_nonfinite = "raise"  # 'raise' | 'skip_step'
  c.diagnostics.max_skipped_steps = 20  # skip_step: this many non-finite steps in a row end the run as diverged
  return c


def make_smoke(c: ml_collections.ConfigDict, *, batch_size: int, total_steps: int, workdir: str) -> None:
  """Shrinks a config to a few steps on tiny data, evaluating, logging and checkpointing on the way.

  A warmup in epochs is dropped and one in steps capped at half the run: the trainer refuses a warmup
  that does not end before training does.
  """
  c.data.batch_size = c.data.eval_batch_size = batch_size
  c.epochs, c.total_steps = 0, total_steps
  c.optimizer.warmup_epochs = 0
  c.optimizer.warmup_steps = min(c.optimizer.warmup_steps, total_steps // 2)
  c.eval_every_steps = c.checkpoint.every_steps = max(total_steps // 2, 1)
  c.log_every_steps = c.diagnostics.every_steps = 2
  c.workdir = workdir
