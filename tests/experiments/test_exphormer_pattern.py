"""The Exphormer-on-PATTERN experiment: the smoke config trains end to end; the full config has the official budget."""

from __future__ import annotations

import json
import math

import jax
from flax import nnx

from experiments.exphormer_pattern import config as experiment_config
from experiments.exphormer_pattern import reproduce
from research import models
from research.analysis import reproduction
from research.train import train_and_evaluate


def test_smoke_config_trains_end_to_end(tmp_path):
  config = experiment_config.get_config("smoke")
  config.data.data_dir = str(tmp_path / "tfds")
  final = train_and_evaluate(config, str(tmp_path / "run"))
  assert final["step"] == config.total_steps
  for split in ("validation", "test"):
    assert 0.0 <= final["final"][f"{split}/accuracy_sbm"] <= 1.0
    assert math.isfinite(final["final"][f"{split}/loss"])
  assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["name"] == "exphormer"


def test_full_config_has_the_official_parameter_count():
  nnx.use_eager_sharding(False)
  config = experiment_config.get_config()
  kwargs = {k: v for k, v in config.model.items() if k != "name"}
  model = nnx.eval_shape(lambda: models.build_model(config.model.name, rngs=nnx.Rngs(0), **kwargs))
  assert sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))) == 91_045  # recount of the official code


def test_full_config_follows_the_official_config():
  config = experiment_config.get_config()
  assert (config.model.hidden_dim, config.model.num_layers, config.model.num_heads) == (40, 4, 4)
  assert config.model.num_virtual_nodes == 4 and experiment_config.EXPANDER_DEGREE == 7  # degree 14
  assert (config.optimizer.learning_rate, config.optimizer.weight_decay, config.epochs) == (2e-4, 2e-5, 120)
  # Every pack's expander edges fit: 2 * 7 edges per node, at most 204 nodes per graph.
  assert config.data.max_expander_edges == config.data.graphs_per_pack * 14 * 204


def test_paper_number_is_transcribed():
  number = reproduction.paper_number("exphormer", "benchmarking_gnns", model="Exphormer", dataset="PATTERN")
  assert (number.mean, number.std) == (86.742, 0.015)
  assert reproduce.SCHEDULE.quick_epochs < reproduce.SCHEDULE.epochs == 120
