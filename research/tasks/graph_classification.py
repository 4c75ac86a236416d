"""Graph classification: one label per graph, cross-entropy loss, accuracy."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from research.graph.batch import GraphBatch
from research.tasks.base import Task


class GraphClassification(Task):
  select_metric = "accuracy"
  select_mode = "max"

  def _per_example(self, model: nnx.Module, batch: Mapping[str, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
    logits = model(GraphBatch.from_batch(batch))  # [B, C]
    labels = batch["label"].astype(jnp.int32)  # [B]
    loss = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), labels)  # [B]
    correct = jnp.argmax(logits, axis=-1) == labels  # [B]
    return loss, correct, batch["example_mask"].astype(jnp.float32)

  def loss(self, model, batch):
    loss, correct, weight = self._per_example(model, batch)
    count = jnp.maximum(weight.sum(), 1.0)
    return (loss * weight).sum() / count, {"accuracy": (correct * weight).sum() / count}

  def eval_sums(self, model, batch):
    loss, correct, weight = self._per_example(model, batch)
    return {"loss": (loss * weight).sum(), "correct": (correct * weight).sum(), "count": weight.sum()}

  def finalize(self, sums):
    count = max(float(sums["count"]), 1.0)
    return {"loss": float(sums["loss"]) / count, "accuracy": float(sums["correct"]) / count}
