"""Graph regression with an L1 loss, as on ZINC (Benchmarking GNNs; GraphGPS `loss_fun: l1`).

Metric: the mean absolute error over the whole evaluation split (the sum of
absolute errors divided once by the number of graphs), not the mean of
per-batch means that Benchmarking GNNs' code reports (its issue #88).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from research.graph.batch import GraphBatch
from research.tasks.base import Task


class GraphRegression(Task):
  """One scalar target `label` [B] per graph; the model returns [B, 1]."""

  select_metric = "mae"
  select_mode = "min"

  def _errors(self, model: nnx.Module, batch: Mapping[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
    prediction = model(GraphBatch.from_batch(batch))  # [B, 1]
    if prediction.ndim != 2 or prediction.shape[-1] != 1:
      raise ValueError(f"Graph regression expects model outputs of shape [B, 1]; got {prediction.shape}.")
    errors = jnp.abs(prediction[:, 0].astype(jnp.float32) - batch["label"].astype(jnp.float32))  # [B]
    return errors, batch["example_mask"].astype(jnp.float32)

  def loss(self, model, batch):
    errors, weight = self._errors(model, batch)
    mae = jnp.sum(errors * weight) / jnp.maximum(jnp.sum(weight), 1.0)
    return mae, {"mae": mae}

  def eval_sums(self, model, batch):
    errors, weight = self._errors(model, batch)
    return {"absolute_error": jnp.sum(errors * weight), "count": jnp.sum(weight)}

  def finalize(self, sums):
    mae = float(sums["absolute_error"]) / max(float(sums["count"]), 1.0)
    return {"loss": mae, "mae": mae}
