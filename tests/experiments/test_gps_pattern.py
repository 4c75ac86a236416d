"""The GPS-on-PATTERN experiment: the smoke config trains end to end; the full config has the paper's budget."""

from __future__ import annotations

import json
import math

import jax
from flax import nnx

from experiments.gps_pattern import config as gps_config
from experiments.gps_pattern import reproduce
from research import models
from research.analysis import reproduction
from research.train import train_and_evaluate


def test_smoke_config_trains_end_to_end(tmp_path):
  config = gps_config.get_config("smoke")
  config.data.data_dir = str(tmp_path / "tfds")
  final = train_and_evaluate(config, str(tmp_path / "run"))
  assert final["step"] == config.total_steps
  for split in ("validation", "test"):
    assert 0.0 <= final["final"][f"{split}/accuracy_sbm"] <= 1.0
    assert math.isfinite(final["final"][f"{split}/loss"])
  assert final["best"]["step"] > 0
  assert json.loads((tmp_path / "run" / "config.json").read_text())["task"] == "node_classification"


def test_full_config_has_the_papers_parameter_count():
  nnx.use_eager_sharding(False)
  kwargs = {k: v for k, v in gps_config.model_config(smoke=False).items() if k != "name"}
  model = nnx.eval_shape(lambda: models.build_model("gps", rngs=nnx.Rngs(0), **kwargs))
  assert sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))) == 337_201


def test_paper_number_is_transcribed():
  number = reproduction.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="PATTERN")
  assert (number.mean, number.std) == (86.685, 0.059)
  assert reproduce.SCHEDULE.quick_epochs < reproduce.SCHEDULE.epochs == 100
