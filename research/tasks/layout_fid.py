"""Training the FID network of layout generation (LayoutDM's FIDNetV3, research/models/layout/fidnet.py).

LayoutDM's fid/train.py trains the network on layouts of which half got box
noise (research/data/layout_datasets.py, `perturbed`), with

  L = mean_B BCE(logit_real, perturbed) + mean_elements CE(label logits, labels)
      + 10 mean_elements sum_{x,y,w,h} (box_pred - box)^2

(the boxes to reconstruct are the input boxes, noise included; the means run
over real elements only), Adam at 3e-4, batch 64, 200,000 iterations, keeping
the checkpoint with the lowest evaluation loss. Its BCE target is 1 for a
perturbed layout ("NoiseAdded"). Evaluation reports the loss and its three
terms over the whole split, the accuracy of the perturbed/clean call (logit > 0),
the label accuracy and the box MSE.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from research.tasks.base import Task

BOX_WEIGHT = 10.0


def _terms(model: nnx.Module, batch: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
  """Per-layout BCE [B], per-element CE and box squared error [B, S], masks, and the correctness counts."""
  boxes, labels = batch["boxes"], batch["labels"].astype(jnp.int32)
  mask = batch["mask"].astype(bool) & batch["example_mask"].astype(bool)[:, None]
  logit_real, label_logits, box_pred = model(boxes, labels, mask)
  perturbed = batch["perturbed"].astype(jnp.float32)
  return {
      "bce": optax.sigmoid_binary_cross_entropy(logit_real, perturbed),  # [B]
      "ce": optax.softmax_cross_entropy_with_integer_labels(label_logits, labels),  # [B, S]
      "box": jnp.sum((box_pred - boxes) ** 2, axis=-1),  # [B, S]
      "real_correct": ((logit_real > 0) == (perturbed > 0.5)).astype(jnp.float32),  # [B]
      "label_correct": (jnp.argmax(label_logits, -1) == labels).astype(jnp.float32),  # [B, S]
      "mask": mask,
      "layouts": batch["example_mask"].astype(jnp.float32),  # [B]
  }


def _mean(values: jax.Array, weights: jax.Array) -> jax.Array:
  return jnp.sum(values * weights) / jnp.maximum(jnp.sum(weights), 1.0)


class LayoutFID(Task):
  """FIDNet training: batches of boxes [B, S, 4], labels [B, S], mask [B, S], perturbed [B]."""

  select_metric = "loss"
  select_mode = "min"

  def loss(self, model, batch):
    t = _terms(model, batch)
    bce, ce, box = _mean(t["bce"], t["layouts"]), _mean(t["ce"], t["mask"]), _mean(t["box"], t["mask"])
    return bce + ce + BOX_WEIGHT * box, {"bce": bce, "label_ce": ce, "box_mse": box,
                                          "real_accuracy": _mean(t["real_correct"], t["layouts"])}

  def eval_sums(self, model, batch):
    t = _terms(model, batch)
    elements = t["mask"].astype(jnp.float32)
    return {
        "layouts": jnp.sum(t["layouts"]),
        "elements": jnp.sum(elements),
        "bce": jnp.sum(t["bce"] * t["layouts"]),
        "real_correct": jnp.sum(t["real_correct"] * t["layouts"]),
        "ce": jnp.sum(t["ce"] * elements),
        "label_correct": jnp.sum(t["label_correct"] * elements),
        "box": jnp.sum(t["box"] * elements),
    }

  def finalize(self, sums):
    layouts, elements = max(float(sums["layouts"]), 1.0), max(float(sums["elements"]), 1.0)
    bce, ce, box = float(sums["bce"]) / layouts, float(sums["ce"]) / elements, float(sums["box"]) / elements
    return {
        "loss": bce + ce + BOX_WEIGHT * box,
        "bce": bce,
        "label_ce": ce,
        "box_mse": box,
        "real_accuracy": float(sums["real_correct"]) / layouts,
        "label_accuracy": float(sums["label_correct"]) / elements,
    }
