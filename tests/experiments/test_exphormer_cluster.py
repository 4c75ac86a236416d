"""The Exphormer-on-CLUSTER experiment: the smoke config trains end to end; the full config has the official budget."""

from __future__ import annotations

import json
import math

from experiment_helpers import full_parameter_count, train_smoke
from experiments.exphormer_cluster import config as experiment_config
from research.analysis import papers


def test_smoke_config_trains_end_to_end(tmp_path):
  final = train_smoke("exphormer_cluster", tmp_path)
  for split in ("validation", "test"):
    assert 0.0 <= final["final"][f"{split}/accuracy_sbm"] <= 1.0
    assert math.isfinite(final["final"][f"{split}/loss"])
  assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["name"] == "exphormer"


def test_full_config_has_the_official_parameter_count():
  config = experiment_config.get_config()
  # The 20 layers are identical: count(20) = count(1) + 19 (count(2) - count(1)); tracing 20 is slow on a busy CPU.
  one, two = (full_parameter_count("exphormer_cluster", num_layers=layers) for layers in (1, 2))
  assert one + (config.model.num_layers - 1) * (two - one) == 282_970  # recount of the official code


def test_full_config_follows_the_official_config():
  config = experiment_config.get_config()
  assert (config.model.hidden_dim, config.model.num_layers, config.model.num_heads) == (32, 20, 8)
  assert config.model.num_virtual_nodes == 3 and experiment_config.EXPANDER_DEGREE == 3  # degree 6
  assert (config.optimizer.learning_rate, config.optimizer.weight_decay, config.epochs) == (2e-4, 1e-5, 150)
  assert (config.model.dropout, config.data.batch_size, config.model.out_dim) == (0.1, 16, 6)
  # Every pack's expander edges fit: 2 * 3 edges per node, at most 204 nodes per graph.
  assert config.data.max_expander_edges == config.data.graphs_per_pack * 6 * 204


def test_paper_number_is_transcribed():
  number = papers.paper_number("exphormer", "benchmarking_gnns", model="Exphormer", dataset="CLUSTER")
  assert (number.mean, number.std) == (78.071, 0.037)
