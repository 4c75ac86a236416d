"""The Graphormer-on-ZINC experiment: the smoke config trains end to end on the ZINC fixture; the paper's budget."""

from __future__ import annotations

import math

from experiment_helpers import full_parameter_count, train_smoke
from experiments.graphormer_zinc import config as graphormer_config
from research.analysis import papers
from research.data import zinc

PAPER = 489_300  # Graphormer-Slim, "489.3K" in the official README's ZINC table


def test_smoke_config_trains_end_to_end_on_the_fixture(tmp_path):
  final = train_smoke("graphormer_zinc", tmp_path)
  for split in ("validation", "test"):
    assert math.isfinite(final["final"][f"{split}/mae"]) and final["final"][f"{split}/mae"] >= 0


def test_full_config_has_the_papers_parameter_count():
  count = full_parameter_count("graphormer_zinc")
  print(f"Graphormer-Slim ZINC: {count:,} parameters; paper 489.3K")
  assert count == 489_481  # the v1.0 model.py recount
  assert abs(count - PAPER) <= 0.05 * PAPER


def test_full_config_follows_v1_0():
  config = graphormer_config.get_config()
  assert config.data.variant == "subset_paths" and config.model.multi_hop_max_dist == zinc.PATH_HOPS == 20
  assert config.data.batch_size == 256 and config.epochs * graphormer_config.STEPS_PER_EPOCH == 400_023
  assert config.optimizer.warmup_epochs * graphormer_config.STEPS_PER_EPOCH == 40_014
  assert (config.optimizer.learning_rate, config.optimizer.weight_decay, config.optimizer.grad_clip_norm) == (
    2e-4,
    0.01,
    0.0,
  )
  assert len(graphormer_config.get_sweep()) == len(graphormer_config.PAPER_SEEDS)


def test_paper_number_is_transcribed():
  number = papers.paper_number("graphormer", "benchmarking_gnns", model="Graphormer-Slim", dataset="ZINC")
  assert (number.mean, number.std) == (0.122, 0.006)
