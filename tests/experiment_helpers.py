"""Shared experiment-test steps: train an experiment's smoke config, count the parameters of its full model."""

from __future__ import annotations

import importlib
import pathlib

import jax
import ml_collections
from flax import nnx

from research import models
from research.train import train_and_evaluate


def experiment_config(experiment: str, arg: str = "") -> ml_collections.ConfigDict:
  """`experiments/<experiment>/config.py`'s get_config(arg)."""
  return importlib.import_module(f"experiments.{experiment}.config").get_config(arg)


def train_smoke(experiment: str, tmp_path: pathlib.Path) -> dict:
  """Trains the experiment's smoke config to its last step; returns train_and_evaluate's result.

  Data go to tmp_path/tfds (ZINC's smoke variants read the fixture the package ships), the run to tmp_path/run.
  """
  config = experiment_config(experiment, "smoke")
  config.data.data_dir = str(tmp_path / "tfds")
  final = train_and_evaluate(config, str(tmp_path / "run"))
  assert final["step"] == config.total_steps
  return final


def full_parameter_count(experiment: str, **model_overrides) -> int:
  """Parameters of the full config's model (shapes only), with `model_overrides` replacing config.model fields."""
  nnx.use_eager_sharding(False)
  model = experiment_config(experiment).model
  kwargs = {k: v for k, v in model.items() if k != "name"} | model_overrides
  abstract = nnx.eval_shape(lambda: models.build_model(model.name, rngs=nnx.Rngs(0), **kwargs))
  return sum(x.size for x in jax.tree.leaves(nnx.state(abstract, nnx.Param)))
