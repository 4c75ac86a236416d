"""The GPS-on-diagrams experiment: the smoke config trains end to end on `tiny`; every sweep expands."""

from __future__ import annotations

import json
import math
import os

import pytest

from experiment_helpers import full_parameter_count, train_smoke
from helpers import REPO
from research.data import diagram_graphs
from research.sweep import spec

CONFIG = os.path.join(REPO, "experiments", "gps_diagrams", "config.py")
SWEEPS = {"seeds": 3, "ablation_global": 2 * 3, "ablation_local": 2 * 3}


def test_smoke_config_trains_end_to_end(tmp_path):
  final = train_smoke("gps_diagrams", tmp_path)
  for split in ("validation", "test"):
    assert 0.0 <= final["final"][f"{split}/accuracy_sbm"] <= 1.0
    assert math.isfinite(final["final"][f"{split}/loss"])
  config = json.loads((tmp_path / "run" / "config.json").read_text())
  assert (config["task"], config["data"]["name"], config["data"]["variant"]) == (
    "node_classification",
    "diagram_graphs",
    "tiny",
  )
  assert config["model"]["out_dim"] == diagram_graphs.NUM_CLASSES


@pytest.mark.parametrize("config_arg", ["", "smoke"])
@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_every_sweep_expands(name, config_arg, tmp_path):
  sweep = spec.expand(CONFIG, config_arg, name, str(tmp_path))
  assert len(sweep.runs) == SWEEPS[name] and len({run.name for run in sweep.runs}) == len(sweep.runs)
  assert {run.overrides["seed"] for run in sweep.runs} == {0, 1, 2}


def test_the_ablations_vary_one_component():
  variants = {
    name: {
      tuple(sorted((k, v) for k, v in run.overrides.items() if k != "seed"))
      for run in spec.expand(CONFIG, "", name).runs
    }
    for name in ("ablation_global", "ablation_local")
  }
  assert variants["ablation_global"] == {(("model.global_model", "transformer"),), (("model.global_model", "none"),)}
  assert variants["ablation_local"] == {(("model.local_model", "gated_gcn"),), (("model.local_model", "none"),)}


def test_full_config_has_the_parameter_count_of_the_readme():
  assert full_parameter_count("gps_diagrams") == 229_324
