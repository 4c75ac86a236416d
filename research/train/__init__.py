"""The trainer: loop, train state, optimizers, sharding, checkpoints, diagnostics, writers."""

from research.train.trainer import Preempted, Trainer, load_model, train_and_evaluate, validate

__all__ = ["Preempted", "Trainer", "load_model", "train_and_evaluate", "validate"]
