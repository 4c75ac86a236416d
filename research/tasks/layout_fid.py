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
the label accuracy and the box MSE. Sample figures pair each input layout (with
the network's probability that it was noised) with the boxes and labels the
network reconstructs from it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from research.layout import render
from research.tasks.base import Task

BOX_WEIGHT = 10.0


def _forward(model: nnx.Module, batch: Mapping[str, jax.Array]) -> tuple[jax.Array, ...]:
  """Element mask of the real layouts [B, S], and FIDNet's logit [B], label logits [B, S, L], boxes [B, S, 4]."""
  mask = batch["mask"].astype(bool) & batch["example_mask"].astype(bool)[:, None]
  return mask, *model(batch["boxes"], batch["labels"].astype(jnp.int32), mask)


def _terms(model: nnx.Module, batch: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
  """Per-layout BCE [B], per-element CE and box squared error [B, S], masks, and the correctness counts."""
  boxes, labels = batch["boxes"], batch["labels"].astype(jnp.int32)
  mask, logit_real, label_logits, box_pred = _forward(model, batch)
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
    return bce + ce + BOX_WEIGHT * box, {
      "bce": bce,
      "label_ce": ce,
      "box_mse": box,
      "real_accuracy": _mean(t["real_correct"], t["layouts"]),
    }

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

  draws_samples = True

  def sample_outputs(self, model, batch):
    mask, logit_real, label_logits, box_pred = _forward(model, batch)
    return {
      "boxes": batch["boxes"],
      "labels": batch["labels"],
      "mask": mask,
      "perturbed": batch["perturbed"],
      "p_perturbed": jax.nn.sigmoid(logit_real),
      "box_pred": box_pred,
      "label_pred": jnp.argmax(label_logits, -1),
    }

  def save_samples(self, outputs, count, path):
    draws = []
    for i in np.flatnonzero(outputs["mask"].any(-1))[:count]:
      kind = "noised" if outputs["perturbed"][i] > 0.5 else "clean"
      title = f"{kind} input, p(noised)={outputs['p_perturbed'][i]:.2f}"
      draws.append(
        functools.partial(
          _draw, boxes=outputs["boxes"][i], labels=outputs["labels"][i], mask=outputs["mask"][i], title=title
        )
      )
      draws.append(
        functools.partial(
          _draw,
          boxes=outputs["box_pred"][i],
          labels=outputs["label_pred"][i],
          mask=outputs["mask"][i],
          title="reconstruction",
        )
      )
    render.save_grid(draws, path, columns=4, cell_inches=2.5)


def _draw(ax, *, boxes: np.ndarray, labels: np.ndarray, mask: np.ndarray, title: str) -> None:
  """One layout of normalised centre boxes [S, 4] on the unit canvas."""
  render.draw_layout(ax, render.layout_boxes_from_centres(boxes), labels, mask, title=title)
