"""Optimizer presets; `research.train.optimizers` turns them into optax transformations."""

from __future__ import annotations

import ml_collections


def _optimizer(name: str, learning_rate: float, schedule: str, **extra) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = name  # 'adam' | 'adamw' | 'sgd'
  c.learning_rate = learning_rate
  c.schedule = schedule  # 'constant' | 'cosine' | 'plateau'
  c.warmup_steps = 0
  c.warmup_epochs = 0  # alternative to warmup_steps
  c.schedule_unit = "step"  # 'step' | 'epoch' (the rate changes once per epoch, as PyTorch epoch schedulers)
  c.weight_decay = 0.0
  c.grad_clip_norm = 0.0  # 0: no clipping
  c.b1 = 0.9
  c.b2 = 0.999
  # reduce-on-plateau (PyTorch ReduceLROnPlateau semantics, stepped at each eval on the validation loss)
  c.plateau_factor = 0.5
  c.plateau_patience = 10
  c.plateau_threshold = 1e-4
  c.update(extra)
  return c


def adam(learning_rate: float = 1e-3, schedule: str = "constant", **extra) -> ml_collections.ConfigDict:
  return _optimizer("adam", learning_rate, schedule, **extra)


def adam_plateau(learning_rate: float, factor: float, patience: int) -> ml_collections.ConfigDict:
  """Adam with ReduceLROnPlateau, as in Benchmarking GNNs and GT (their minimum rate is config.stop_below_lr)."""
  return _optimizer("adam", learning_rate, "plateau", plateau_factor=factor, plateau_patience=patience)


def adamw_cosine(
  learning_rate: float,
  weight_decay: float,
  *,
  warmup_steps: int = 0,
  warmup_epochs: int = 0,
  schedule_unit: str = "step",
  grad_clip_norm: float = 1.0,
) -> ml_collections.ConfigDict:
  """AdamW with linear warmup then cosine decay to 0, as in GraphGPS."""
  return _optimizer(
    "adamw",
    learning_rate,
    "cosine",
    warmup_steps=warmup_steps,
    warmup_epochs=warmup_epochs,
    schedule_unit=schedule_unit,
    weight_decay=weight_decay,
    grad_clip_norm=grad_clip_norm,
  )
