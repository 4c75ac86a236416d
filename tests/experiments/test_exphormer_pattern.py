"""The Exphormer-on-PATTERN experiment: the smoke config trains end to end; the full config has the official budget."""

from __future__ import annotations

import json
import math

from experiment_helpers import full_parameter_count, train_smoke
from experiments.exphormer_pattern import config as experiment_config
from research.analysis import papers


def test_smoke_config_trains_end_to_end(tmp_path):
  final = train_smoke("exphormer_pattern", tmp_path)
  for split in ("validation", "test"):
    assert 0.0 <= final["final"][f"{split}/accuracy_sbm"] <= 1.0
    assert math.isfinite(final["final"][f"{split}/loss"])
  assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["name"] == "exphormer"


def test_full_config_has_the_official_parameter_count():
  assert full_parameter_count("exphormer_pattern") == 91_045  # recount of the official code


def test_full_config_follows_the_official_config():
  config = experiment_config.get_config()
  assert (config.model.hidden_dim, config.model.num_layers, config.model.num_heads) == (40, 4, 4)
  assert config.model.num_virtual_nodes == 4 and experiment_config.EXPANDER_DEGREE == 7  # degree 14
  assert (config.optimizer.learning_rate, config.optimizer.weight_decay, config.epochs) == (2e-4, 2e-5, 120)
  # Every pack's expander edges fit: 2 * 7 edges per node, at most 204 nodes per graph.
  assert config.data.max_expander_edges == config.data.graphs_per_pack * 14 * 204


def test_paper_number_is_transcribed():
  number = papers.paper_number("exphormer", "benchmarking_gnns", model="Exphormer", dataset="PATTERN")
  assert (number.mean, number.std) == (86.742, 0.015)
