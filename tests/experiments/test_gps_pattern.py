"""The GPS-on-PATTERN experiment: the smoke config trains end to end; the full config has the paper's budget."""

from __future__ import annotations

import json
import math

from experiment_helpers import full_parameter_count, train_smoke
from research.analysis import papers


def test_smoke_config_trains_end_to_end(tmp_path):
  final = train_smoke("gps_pattern", tmp_path)
  for split in ("validation", "test"):
    assert 0.0 <= final["final"][f"{split}/accuracy_sbm"] <= 1.0
    assert math.isfinite(final["final"][f"{split}/loss"])
  assert final["best"]["step"] > 0
  assert json.loads((tmp_path / "run" / "config.json").read_text())["task"] == "node_classification"


def test_full_config_has_the_papers_parameter_count():
  assert full_parameter_count("gps_pattern") == 337_201


def test_paper_number_is_transcribed():
  number = papers.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="PATTERN")
  assert (number.mean, number.std) == (86.685, 0.059)
