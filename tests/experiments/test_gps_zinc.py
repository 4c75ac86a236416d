"""The GPS-on-ZINC experiment: the smoke config trains end to end on the ZINC fixture; the paper's budget."""

from __future__ import annotations

import math
import os

import jax
from flax import nnx

from experiments.gps_zinc import config as gps_config
from research import models
from research.analysis import reproduction
from research.train import train_and_evaluate

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "fixtures", "zinc")


def test_smoke_config_trains_end_to_end_on_the_fixture(tmp_path):
  config = gps_config.get_config("smoke")
  config.data.data_dir = str(tmp_path / "tfds")
  config.data.manual_dir = FIXTURE
  final = train_and_evaluate(config, str(tmp_path / "run"))
  assert final["step"] == config.total_steps
  for split in ("validation", "test"):
    assert math.isfinite(final["final"][f"{split}/mae"]) and final["final"][f"{split}/mae"] >= 0
  assert final["best"]["validation/mae"] <= final["final"]["validation/mae"] + 1e-6


def test_full_config_has_the_papers_parameter_count():
  nnx.use_eager_sharding(False)
  kwargs = {k: v for k, v in gps_config.model_config(smoke=False).items() if k != "name"}
  model = nnx.eval_shape(lambda: models.build_model("gps", rngs=nnx.Rngs(0), **kwargs))
  assert sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))) == 423_717


def test_paper_number_is_transcribed():
  number = reproduction.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="ZINC")
  assert (number.mean, number.std) == (0.070, 0.004)
