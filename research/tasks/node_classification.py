"""Node classification on graph batches, as on PATTERN and CLUSTER (Benchmarking GNNs).

Loss: class-weighted cross-entropy with per-batch weights w_c = (V - V_c) / V,
where V is the number of real nodes in the batch and V_c those of class c
(Dwivedi et al., "Benchmarking Graph Neural Networks", Sec. 5.2; GraphGPS
`loss/weighted_cross_entropy.py`), so rare classes weigh more. With C > 2
outputs it is the weighted mean sum_i w_{y_i} CE_i / sum_i w_{y_i} (PyTorch's
`nll_loss(weight=w)`). A model with one output logit is the binary case of
GraphGym, which GraphGPS uses on PATTERN: the mean over nodes of
w_{y_i} * BCE_i.

Metric: class-averaged accuracy ("accuracy-SBM"), (1/C) sum_c correct_c / V_c,
counted over the whole evaluation split and divided once at the end, as
GraphGPS does it (its PR #12), rather than averaged over batches as the
Benchmarking GNNs code does. Plain node accuracy is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from research.graph.batch import GraphBatch
from research.tasks.base import Task


def class_weights(labels: jax.Array, mask: jax.Array, num_classes: int) -> jax.Array:
  """w_c = (V - V_c) / V over the real nodes of the batch: [B, N] ints, [B, N] bool -> [C].

  Classes absent from the batch get weight 0, as in GraphGPS.
  """
  counts = jnp.sum(jax.nn.one_hot(labels, num_classes) * mask[..., None], axis=(0, 1))  # [C]
  total = jnp.maximum(jnp.sum(counts), 1.0)
  return jnp.where(counts > 0, (total - counts) / total, 0.0)


def weighted_cross_entropy(logits: jax.Array, labels: jax.Array, mask: jax.Array) -> jax.Array:
  """Class-weighted loss of the real nodes: logits [B, N, C] (C = 1: binary), labels [B, N], mask [B, N]."""
  logits = logits.astype(jnp.float32)
  mask = mask.astype(jnp.float32)
  binary = logits.shape[-1] == 1
  weights = class_weights(labels, mask, 2 if binary else logits.shape[-1])[labels] * mask  # [B, N]
  if binary:
    losses = optax.sigmoid_binary_cross_entropy(logits[..., 0], labels.astype(jnp.float32))
    return jnp.sum(weights * losses) / jnp.maximum(jnp.sum(mask), 1.0)
  losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
  return jnp.sum(weights * losses) / jnp.maximum(jnp.sum(weights), 1e-12)


def predictions(logits: jax.Array) -> jax.Array:
  """Predicted classes: [B, N, C] -> [B, N] (one logit: positive means class 1)."""
  if logits.shape[-1] == 1:
    return (logits[..., 0] > 0).astype(jnp.int32)
  return jnp.argmax(logits, axis=-1)


class NodeClassification(Task):
  """Per-node labels `node_labels` [B, N]; the model returns logits [B, N, C]."""

  select_metric = "accuracy_sbm"
  select_mode = "max"

  def _forward(self, model: nnx.Module, batch: Mapping[str, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
    graph = GraphBatch.from_batch(batch)
    logits = model(graph)  # [B, N, C]
    labels = batch["node_labels"].astype(jnp.int32)  # [B, N]
    mask = graph.node_mask & batch["example_mask"].astype(bool)[:, None]  # [B, N]
    return logits, labels, mask

  def loss(self, model, batch):
    logits, labels, mask = self._forward(model, batch)
    correct = (predictions(logits) == labels) & mask
    accuracy = jnp.sum(correct) / jnp.maximum(jnp.sum(mask), 1)
    return weighted_cross_entropy(logits, labels, mask), {"accuracy": accuracy}

  def eval_sums(self, model, batch):
    logits, labels, mask = self._forward(model, batch)
    num_classes = max(logits.shape[-1], 2)
    one_hot = jax.nn.one_hot(labels, num_classes) * mask[..., None]  # [B, N, C]
    correct = (predictions(logits) == labels)[..., None] * one_hot
    return {
      # The loss of a split is the mean of its batches' losses, each batch
      # weighted by its node count (the batch weights are per batch by definition).
      "loss": weighted_cross_entropy(logits, labels, mask) * jnp.sum(mask),
      "nodes": jnp.sum(mask).astype(jnp.float32),
      "class_count": jnp.sum(one_hot, axis=(0, 1)),  # [C]
      "class_correct": jnp.sum(correct, axis=(0, 1)),  # [C]
    }

  def finalize(self, sums):
    nodes = max(float(sums["nodes"]), 1.0)
    count, correct = np.asarray(sums["class_count"], np.float64), np.asarray(sums["class_correct"], np.float64)
    per_class = np.divide(correct, count, out=np.zeros_like(count), where=count > 0)
    return {
      "loss": float(sums["loss"]) / nodes,
      "accuracy": float(correct.sum()) / nodes,
      "accuracy_sbm": float(per_class.mean()),
    }
