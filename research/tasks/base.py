"""The interface between the trainer and a problem type."""

from __future__ import annotations

import abc
from collections.abc import Mapping

import jax
import numpy as np
from flax import nnx


class Task(abc.ABC):
  """Loss for training; metrics as sums over an evaluation set, finalised on the host.

  Evaluation metrics are accumulated as sums over every batch of a split and only
  then divided, so a metric is computed over the whole set, never averaged per batch.
  """

  #: the metric that selects the best checkpoint, and whether higher is better
  select_metric: str
  select_mode: str  # 'max' | 'min'
  #: whether the trainer saves sample figures after each evaluation (`sample_outputs`, `save_samples`)
  draws_samples: bool = False

  @abc.abstractmethod
  def loss(self, model: nnx.Module, batch: Mapping[str, jax.Array]) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean training loss over real examples, and per-batch metrics for logging."""

  @abc.abstractmethod
  def eval_sums(self, model: nnx.Module, batch: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
    """Sufficient statistics of the metrics over the real examples of one batch."""

  @abc.abstractmethod
  def finalize(self, sums: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Metrics of a whole split from the summed statistics of its batches."""

  def sample_outputs(self, model: nnx.Module, batch: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
    """Inputs and predictions that `save_samples` draws (traced under jit, like `eval_sums`)."""
    raise NotImplementedError(f"{type(self).__name__} draws no samples.")

  def save_samples(self, outputs: Mapping[str, np.ndarray], count: int, path: str) -> None:
    """Draws up to `count` examples of `outputs` (from `sample_outputs`) into the image file `path`."""
    raise NotImplementedError(f"{type(self).__name__} draws no samples.")
