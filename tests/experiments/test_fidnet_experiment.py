"""The FIDNet experiment: the smoke config trains end to end; LayoutDM's network and recipe."""

from __future__ import annotations

import math

import pytest

from experiment_helpers import experiment_config, full_parameter_count, train_smoke
from experiments.fidnet import evaluate
from research.train import load_model


def test_smoke_config_trains_end_to_end_and_its_features_give_fids(tmp_path, capsys):
  final = train_smoke("fidnet", tmp_path)
  for split in ("validation", "test"):
    metrics = {k.split("/", 1)[1]: v for k, v in final["final"].items() if k.startswith(split)}
    assert math.isfinite(metrics["loss"]) and 0 <= metrics["real_accuracy"] <= 1
    assert metrics["loss"] == pytest.approx(metrics["bce"] + metrics["label_ce"] + 10 * metrics["box_mse"])
  samples = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
  assert samples == ["step_00000004.png", "step_00000008.png"]  # one figure per evaluation
  results = evaluate.main(
    ["--workdir", str(tmp_path / "run"), "--config_arg", "smoke", "--data_dir", str(tmp_path / "tfds")]
  )
  assert len(results) == 2 and all(math.isfinite(v) and v > 0 for v in results.values())
  assert "| validation vs test |" in capsys.readouterr().out


def test_loading_a_run_without_checkpoints_says_so(tmp_path):
  config = experiment_config("fidnet", "smoke")
  config.data.data_dir = str(tmp_path / "tfds")
  with pytest.raises(FileNotFoundError, match="No checkpoint in"):
    load_model(config, str(tmp_path / "empty"))


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
