"""Experiments of the graph-transformer zoo: each smoke config trains end to end; full configs have the papers' budgets."""

from __future__ import annotations

import importlib
import math
import os

import jax
import pytest
from flax import nnx

from research import models
from research.train import train_and_evaluate

ZINC_FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "fixtures", "zinc")
# experiment -> (metric checked in the smoke run, parameters of the full model)
EXPERIMENTS = {
    "gps_cluster": ("accuracy_sbm", 502_054),  # GraphGPS's appendix table
    "grit_pattern": ("accuracy_sbm", 477_953),  # recount of the official code
    "grit_zinc": ("mae", 473_473),  # recount of the official code
}


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_smoke_config_trains_end_to_end(experiment, tmp_path):
  config = importlib.import_module(f"experiments.{experiment}.config").get_config("smoke")
  config.data.data_dir = str(tmp_path / "tfds")
  if config.data.name == "zinc":
    config.data.manual_dir = ZINC_FIXTURE
  final = train_and_evaluate(config, str(tmp_path / "run"))
  metric = EXPERIMENTS[experiment][0]
  assert final["step"] == config.total_steps
  assert all(math.isfinite(final["final"][f"{split}/{metric}"]) for split in ("validation", "test"))


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_full_config_has_the_reference_parameter_count(experiment):
  nnx.use_eager_sharding(False)
  config = importlib.import_module(f"experiments.{experiment}.config").get_config()
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  model = nnx.eval_shape(lambda: models.build_model(config.model.name, rngs=nnx.Rngs(0), **kwargs))
  assert sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))) == EXPERIMENTS[experiment][1]


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_reproduce_script_names_its_paper_number(experiment):
  reproduce = importlib.import_module(f"experiments.{experiment}.reproduce")
  assert reproduce.SCHEDULE.quick_epochs < reproduce.SCHEDULE.epochs
