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
  return {
    "boxes": rng.uniform(0.1, 0.9, (3, 6, 4)).astype(np.float32),
    "labels": rng.integers(0, 5, (3, 6)),
    "mask": mask,
    "perturbed": np.array([1.0, 0.0, 1.0], np.float32),
    "example_mask": np.array([True, True, False]),
  }


def test_loss_is_bce_plus_label_ce_plus_ten_box_mse_over_real_layouts_and_elements():
  model = build_model("fidnet_v3", rngs=nnx.Rngs(0), num_labels=5, max_elements=6, dim=16, num_heads=2, num_layers=1)
  model.eval()
  batch = _batch()
  loss, metrics = get_task("layout_fid").loss(model, {k: jnp.asarray(v) for k, v in batch.items()})
  real = batch["example_mask"]
  elements = batch["mask"] & real[:, None]
  logit, label_logits, boxes = (
    np.asarray(x, np.float64)
    for x in model(jnp.asarray(batch["boxes"]), jnp.asarray(batch["labels"]), jnp.asarray(elements))
  )
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


def _sample_outputs(model, batch):
  task = get_task("layout_fid")
  outputs = task.sample_outputs(model, {k: jnp.asarray(v) for k, v in batch.items()})
  return task, {k: np.asarray(v) for k, v in outputs.items()}


def test_sample_outputs_are_the_network_s_call_and_reconstruction():
  model = build_model("fidnet_v3", rngs=nnx.Rngs(2), num_labels=5, max_elements=6, dim=16, num_heads=2, num_layers=1)
  model.eval()
  batch = _batch()
  _, out = _sample_outputs(model, batch)
  elements = batch["mask"] & batch["example_mask"][:, None]
  logit, label_logits, boxes = (
    np.asarray(x) for x in model(jnp.asarray(batch["boxes"]), jnp.asarray(batch["labels"]), jnp.asarray(elements))
  )
  np.testing.assert_array_equal(out["mask"], elements)
  np.testing.assert_allclose(out["p_perturbed"], 1 / (1 + np.exp(-logit)), rtol=1e-5)
  np.testing.assert_allclose(out["box_pred"], boxes, rtol=1e-5)
  np.testing.assert_array_equal(out["label_pred"], label_logits.argmax(-1))


@pytest.mark.parametrize("count, rows", [(1, 1), (8, 1)])
def test_sample_figure_pairs_each_real_layout_with_its_reconstruction(tmp_path, count, rows):
  # The batch holds 2 real layouts (the third is padding): at most 2 pairs = 4 cells = one row of 4.
  from PIL import Image

  model = build_model("fidnet_v3", rngs=nnx.Rngs(2), num_labels=5, max_elements=6, dim=16, num_heads=2, num_layers=1)
  model.eval()
  task, out = _sample_outputs(model, _batch())
  path = tmp_path / "samples.png"
  task.save_samples(out, count, str(path))
  width, height = Image.open(path).size
  assert (width, height) == (4 * 275, rows * 275)  # 4 columns of 2.5-inch cells at 110 dpi


def test_sample_figure_of_many_layouts_has_one_row_per_two_layouts(tmp_path):
  from PIL import Image

  rng = np.random.default_rng(3)
  batch = {
    "boxes": rng.uniform(0.1, 0.9, (5, 6, 4)).astype(np.float32),
    "labels": rng.integers(0, 5, (5, 6)),
    "mask": np.ones((5, 6), bool),
    "perturbed": np.zeros(5, np.float32),
    "example_mask": np.ones(5, bool),
  }
  model = build_model("fidnet_v3", rngs=nnx.Rngs(2), num_labels=5, max_elements=6, dim=16, num_heads=2, num_layers=1)
  model.eval()
  task, out = _sample_outputs(model, batch)
  task.save_samples(out, 5, str(tmp_path / "samples.png"))
  assert Image.open(tmp_path / "samples.png").size == (4 * 275, 3 * 275)  # 5 pairs -> 10 cells -> 3 rows
