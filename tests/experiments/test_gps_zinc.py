"""The GPS-on-ZINC experiment: the smoke config trains end to end on the ZINC fixture; the paper's budget."""

from __future__ import annotations

import math

from experiment_helpers import full_parameter_count, train_smoke
from research.analysis import papers


def test_smoke_config_trains_end_to_end_on_the_fixture(tmp_path):
  final = train_smoke("gps_zinc", tmp_path)
  for split in ("validation", "test"):
    assert math.isfinite(final["final"][f"{split}/mae"]) and final["final"][f"{split}/mae"] >= 0
  assert final["best"]["validation/mae"] <= final["final"]["validation/mae"] + 1e-6


def test_full_config_has_the_papers_parameter_count():
  assert full_parameter_count("gps_zinc") == 423_717


def test_paper_number_is_transcribed():
  number = papers.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="ZINC")
  assert (number.mean, number.std) == (0.070, 0.004)
