"""The FIDNet experiment: the smoke config trains end to end; LayoutDM's network and recipe."""

from __future__ import annotations

import math

import pytest

from experiment_helpers import experiment_config, full_parameter_count, train_smoke


def test_smoke_config_trains_end_to_end(tmp_path):
  final = train_smoke("fidnet", tmp_path)
  for split in ("validation", "test"):
    metrics = {k.split("/", 1)[1]: v for k, v in final["final"].items() if k.startswith(split)}
    assert math.isfinite(metrics["loss"]) and 0 <= metrics["real_accuracy"] <= 1
    assert metrics["loss"] == pytest.approx(metrics["bce"] + metrics["label_ce"] + 10 * metrics["box_mse"])


def test_rico25_config_is_layoutdm_s_network_and_recipe():
  # layout-dm's FIDNetV3(num_label=25, max_bbox=25) has 2,925,598 parameters (counted with PyTorch).
  assert full_parameter_count("fidnet", num_labels=25, max_elements=25) == 2_925_598
  config = experiment_config("fidnet", "dataset=rico25")
  assert (config.data.name, config.data.variant, config.data.max_elements) == ("rico", "rico25-max25", 25)
  assert (config.optimizer.name, config.optimizer.learning_rate, config.data.batch_size) == ("adam", 3e-4, 64)
  assert (config.total_steps, config.data.noise_probability, config.data.noise_std) == (200_000, 0.5, 0.05)


def test_unknown_dataset_is_refused():
  with pytest.raises(ValueError, match="dataset='magazine'"):
    experiment_config("fidnet", "dataset=magazine")
