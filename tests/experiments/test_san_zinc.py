"""The SAN-on-ZINC experiment: the smoke config trains end to end on the ZINC fixture; the paper's budget."""

from __future__ import annotations

import math
import os

import jax
from flax import nnx

from experiments.san_zinc import config as san_config
from experiments.san_zinc import reproduce
from research import models
from research.analysis import reproduction
from research.train import train_and_evaluate

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "fixtures", "zinc")
RECOUNT = 454_753  # the official SAN_NodeLPE with configs/ZINC/optimized, counted by hand (papers/san.yaml)


def test_smoke_config_trains_end_to_end_on_the_fixture(tmp_path):
  config = san_config.get_config("smoke")
  config.data.data_dir = str(tmp_path / "tfds")
  config.data.manual_dir = FIXTURE
  final = train_and_evaluate(config, str(tmp_path / "run"))
  assert final["step"] == config.total_steps
  for split in ("validation", "test"):
    assert math.isfinite(final["final"][f"{split}/mae"]) and final["final"][f"{split}/mae"] >= 0


def test_full_config_has_the_papers_parameter_count():
  nnx.use_eager_sharding(False)
  config = san_config.get_config()
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  model = nnx.eval_shape(lambda: models.build_model("san", rngs=nnx.Rngs(0), **kwargs))
  count = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
  print(f"SAN ZINC: {count:,} parameters; recount of the official code {RECOUNT:,}")
  assert abs(count - RECOUNT) <= 0.05 * RECOUNT


def test_full_config_follows_the_official_protocol():
  config = san_config.get_config()
  assert config.model.lpe_eigenpairs == "lap_sym" and config.data.variant == "subset"  # SAN's normalised Laplacian
  assert (config.optimizer.schedule, config.optimizer.plateau_patience, config.stop_below_lr) == ("plateau", 25, 1e-6)
  assert [run["seed"] for run in san_config.get_sweep()] == [41, 55, 13, 88]
  assert reproduce.SCHEDULE.quick_epochs < reproduce.SCHEDULE.epochs == config.epochs


def test_paper_number_is_transcribed():
  number = reproduction.paper_number("san", "benchmarking_gnns", model="SAN", dataset="ZINC")
  assert (number.mean, number.std) == (0.139, 0.006)
