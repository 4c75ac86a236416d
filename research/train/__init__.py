"""The trainer: loop, train state, optimizers, sharding, checkpoints, diagnostics, writers.

The names below are imported on first use, so that `python -m research.train.diagnostics` does not
import the trainer (and its diagnostics module) before running it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Preempted", "Trainer", "load_model", "train_and_evaluate", "validate"]


def __getattr__(name: str) -> Any:
  if name in __all__:
    from research.train import trainer

    return getattr(trainer, name)
  raise AttributeError(f"module 'research.train' has no attribute {name!r}")
