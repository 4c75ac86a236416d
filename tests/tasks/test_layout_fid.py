"""The FIDNet training loss against its formula, and whole-split evaluation."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from research.models import build_model
from research.tasks import get_task

nnx.use_eager_sharding(False)


def _batch():
  rng = np.random.default_rng(0)
  mask = np.arange(6)[None] < np.array([[2], [6], [4]])
  return {"boxes": rng.uniform(0.1, 0.9, (3, 6, 4)).astype(np.float32), "labels": rng.integers(0, 5, (3, 6)),
          "mask": mask, "perturbed": np.array([1.0, 0.0, 1.0], np.float32),
          "example_mask": np.array([True, True, False])}


def test_loss_is_bce_plus_label_ce_plus_ten_box_mse_over_real_layouts_and_elements():
  model = build_model("fidnet_v3", rngs=nnx.Rngs(0), num_labels=5, max_elements=6, dim=16, num_heads=2, num_layers=1)
  model.eval()
  batch = _batch()
  loss, metrics = get_task("layout_fid").loss(model, {k: jnp.asarray(v) for k, v in batch.items()})
  real = batch["example_mask"]
  elements = batch["mask"] & real[:, None]
  logit, label_logits, boxes = (np.asarray(x, np.float64) for x in model(
      jnp.asarray(batch["boxes"]), jnp.asarray(batch["labels"]), jnp.asarray(elements)))
  y = batch["perturbed"]
  bce = np.mean((np.maximum(logit, 0) - logit * y + np.log1p(np.exp(-np.abs(logit))))[real])
  log_probs = label_logits - np.log(np.exp(label_logits).sum(-1, keepdims=True))
  ce = -np.mean(np.take_along_axis(log_probs, batch["labels"][..., None], -1)[..., 0][elements])
  box = np.mean(np.sum((boxes - batch["boxes"]) ** 2, -1)[elements])
  assert float(loss) == pytest.approx(bce + ce + 10 * box, rel=1e-5)
  assert float(metrics["box_mse"]) == pytest.approx(box, rel=1e-5)


def test_evaluation_sums_finalise_to_the_loss_of_one_batch():
  model = build_model("fidnet_v3", rngs=nnx.Rngs(1), num_labels=5, max_elements=6, dim=16, num_heads=2, num_layers=1)
  model.eval()
  task = get_task("layout_fid")
  batch = {k: jnp.asarray(v) for k, v in _batch().items()}
  loss, _ = task.loss(model, batch)
  final = task.finalize({k: np.asarray(v) for k, v in task.eval_sums(model, batch).items()})
  assert final["loss"] == pytest.approx(float(loss), rel=1e-5)
  assert 0 <= final["real_accuracy"] <= 1 and 0 <= final["label_accuracy"] <= 1
