"""The training recipe shared by GraphGPS and its forks (GRIT, Exphormer) on Benchmarking GNNs' datasets.

AdamW with a cosine schedule after a linear warmup, both counted in epochs and
stepped once per epoch (the official `cosine_with_warmup` scheduler), gradient
clipping at norm 1, evaluation every epoch, and the test score read at the
best-validation epoch (the trainer's `best/` checkpoint).
"""

from __future__ import annotations

import ml_collections

from configs import base, graph_budgets, optimizers


def graphgps_config(
  *,
  task: str,
  model: ml_collections.ConfigDict,
  data_name: str,
  variant: str,
  batch_size: int,
  learning_rate: float,
  weight_decay: float,
  epochs: int,
  warmup_epochs: int,
  seed: int,
  workdir: str,
  eval_batch_size: int | None = None,
) -> ml_collections.ConfigDict:
  """A full config; the caller sets the data budgets (configs/graph_budgets.py)."""
  c = base.get_base_config()
  c.seed = seed
  c.task = task
  c.model = model
  c.data.name = data_name
  c.data.variant = variant
  c.data.batch_size = batch_size
  c.data.eval_batch_size = eval_batch_size or batch_size
  c.data.cache = True  # ~10k small graphs: decoded once
  c.data.num_threads = 0  # and read by the prefetch thread
  c.optimizer = optimizers.adamw_cosine(
    learning_rate=learning_rate,
    weight_decay=weight_decay,
    warmup_epochs=warmup_epochs,
    schedule_unit="epoch",
    grad_clip_norm=1.0,
  )
  c.epochs = epochs
  c.eval_every_steps = 0  # every epoch
  c.log_every_steps = 100
  c.checkpoint.every_steps = 2000
  c.diagnostics.every_steps = 100
  c.workdir = workdir
  return c


def make_sbm_smoke(
  c: ml_collections.ConfigDict,
  *,
  graphs_per_pack: int,
  batch_size: int,
  total_steps: int,
  workdir: str,
  expander_degree: int = 0,
) -> None:
  """`base.make_smoke` on the tiny variant of PATTERN or CLUSTER (c.data.name), with that pack size's budgets."""
  c.data.variant = "tiny"
  graph_budgets.set_sbm_budgets(c.data, c.data.name, graphs_per_pack, expander_degree)
  base.make_smoke(c, batch_size=batch_size, total_steps=total_steps, workdir=workdir)
