"""Learning-rate schedules, reduce-on-plateau and gradient clipping."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from configs import optimizers as presets
from research.train import optimizers
from research.train.step import clip_by_global_norm


def test_cosine_with_warmup():
  config = presets.adamw_cosine(learning_rate=1e-3, warmup_steps=10, weight_decay=0.01)
  schedule = optimizers.learning_rate_schedule(config, total_steps=110)
  assert float(schedule(0)) == 0.0
  assert np.isclose(float(schedule(5)), 5e-4)
  assert np.isclose(float(schedule(10)), 1e-3)
  assert np.isclose(float(schedule(60)), 5e-4, rtol=1e-3)  # half way through the cosine
  assert float(schedule(110)) < 1e-9


def test_epoch_cosine_with_warmup_matches_graphgps_per_epoch_scheduler():
  """HF get_cosine_schedule_with_warmup stepped once per epoch (GraphGPS `cosine_with_warmup`)."""
  config = presets.adamw_cosine(learning_rate=5e-4, weight_decay=1e-5, warmup_epochs=5, schedule_unit="epoch")
  steps_per_epoch, epochs = 7, 100
  schedule = optimizers.learning_rate_schedule(
    config, total_steps=epochs * steps_per_epoch, steps_per_epoch=steps_per_epoch
  )

  def reference(epoch: int) -> float:
    if epoch < 5:
      return 5e-4 * epoch / 5
    return 5e-4 * 0.5 * (1.0 + np.cos(np.pi * (epoch - 5) / (epochs - 5)))

  for epoch in (0, 1, 4, 5, 6, 50, 99):
    for step in (epoch * steps_per_epoch, epoch * steps_per_epoch + steps_per_epoch - 1):  # constant within an epoch
      assert np.isclose(float(schedule(step)), reference(epoch), rtol=1e-5, atol=1e-9), (epoch, step)


def test_warmup_epochs_convert_to_steps():
  config = presets.adamw_cosine(learning_rate=1e-3, weight_decay=0.0, warmup_epochs=2)
  schedule = optimizers.learning_rate_schedule(config, total_steps=100, steps_per_epoch=10)
  assert np.isclose(float(schedule(10)), 5e-4) and np.isclose(float(schedule(20)), 1e-3)


def test_warmup_in_steps_and_epochs_is_refused():
  config = presets.adamw_cosine(learning_rate=1e-3, weight_decay=0.0, warmup_steps=3, warmup_epochs=2)
  with pytest.raises(ValueError, match="warmup_steps \\(3\\) or warmup_epochs \\(2\\)"):
    optimizers.learning_rate_schedule(config, total_steps=100, steps_per_epoch=10)


def test_plateau_follows_pytorch_reduce_lr_on_plateau():
  """mode='min', threshold 1e-4 (relative), patience 2, factor 0.5, as torch.optim.lr_scheduler."""
  plateau = optimizers.Plateau(factor=0.5, patience=2, threshold=1e-4)
  best, bad, scale = float("inf"), 0, 1.0
  scales = []
  for loss in [1.0, 0.9, 0.95, 0.9, 0.91, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85]:
    best, bad, scale = plateau.update(loss, best, bad, scale)
    scales.append(scale)
  # 0.9 stalls for 3 evaluations (> patience 2) -> halve; then 0.8 stalls for 3 -> halve, and again 3 later.
  assert scales == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_gradient_clipping_reports_norms():
  grads = {"a": jnp.array([3.0, 0.0]), "b": jnp.array([4.0])}
  clipped, before, after = clip_by_global_norm(grads, max_norm=1.0)
  assert np.isclose(float(before), 5.0) and np.isclose(float(after), 1.0)
  np.testing.assert_allclose(clipped["a"], [0.6, 0.0], rtol=1e-6)
  unclipped, _, after = clip_by_global_norm(grads, max_norm=0.0)
  assert np.isclose(float(after), 5.0) and unclipped is grads


@pytest.mark.parametrize(
  "field, value, message", [("name", "lamb", "optimizer.name"), ("schedule", "step", "optimizer.schedule")]
)
def test_unknown_optimizer_or_schedule(field, value, message):
  config = presets.adam()
  config[field] = value
  with pytest.raises(ValueError, match=message):
    optimizers.build_optimizer(config) if field == "name" else optimizers.learning_rate_schedule(config, 10)
