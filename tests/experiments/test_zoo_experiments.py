"""Experiments of the graph-transformer zoo: each smoke config trains end to end; full configs have the papers'
budgets."""

from __future__ import annotations

import math

import pytest

from experiment_helpers import full_parameter_count, train_smoke

# experiment -> (metric checked in the smoke run, parameters of the full model)
EXPERIMENTS = {
  "gps_cluster": ("accuracy_sbm", 502_054),  # GraphGPS's appendix table
  "grit_pattern": ("accuracy_sbm", 477_953),  # recount of the official code
  "grit_zinc": ("mae", 473_473),  # recount of the official code
}


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_smoke_config_trains_end_to_end(experiment, tmp_path):
  final = train_smoke(experiment, tmp_path)
  metric = EXPERIMENTS[experiment][0]
  assert all(math.isfinite(final["final"][f"{split}/{metric}"]) for split in ("validation", "test"))


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_full_config_has_the_reference_parameter_count(experiment):
  assert full_parameter_count(experiment) == EXPERIMENTS[experiment][1]
