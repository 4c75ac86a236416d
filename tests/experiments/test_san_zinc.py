"""The SAN-on-ZINC experiment: the smoke config trains end to end on the ZINC fixture; the paper's budget."""

from __future__ import annotations

import math

from experiment_helpers import full_parameter_count, train_smoke
from experiments.san_zinc import config as san_config
from research.analysis import papers

RECOUNT = 454_753  # the official SAN_NodeLPE with configs/ZINC/optimized, counted by hand (papers/san.yaml)


def test_smoke_config_trains_end_to_end_on_the_fixture(tmp_path):
  final = train_smoke("san_zinc", tmp_path)
  for split in ("validation", "test"):
    assert math.isfinite(final["final"][f"{split}/mae"]) and final["final"][f"{split}/mae"] >= 0


def test_full_config_has_the_papers_parameter_count():
  count = full_parameter_count("san_zinc")
  print(f"SAN ZINC: {count:,} parameters; recount of the official code {RECOUNT:,}")
  assert abs(count - RECOUNT) <= 0.05 * RECOUNT


def test_full_config_follows_the_official_protocol():
  config = san_config.get_config()
  assert config.model.lpe_eigenpairs == "lap_sym" and config.data.variant == "subset"  # SAN's normalised Laplacian
  assert (config.optimizer.schedule, config.optimizer.plateau_patience, config.stop_below_lr) == ("plateau", 25, 1e-6)
  assert [run["seed"] for run in san_config.get_sweep()] == [41, 55, 13, 88]


def test_paper_number_is_transcribed():
  number = papers.paper_number("san", "benchmarking_gnns", model="SAN", dataset="ZINC")
  assert (number.mean, number.std) == (0.139, 0.006)
