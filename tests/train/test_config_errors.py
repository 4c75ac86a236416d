"""Config mistakes found before any compute, in process: arguments, overrides, values, models, meshes, rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from configs import args as config_args
from experiments.benchmarking_gnns_csl import config as csl_config
from helpers import CSL_CONFIG, REPO, env_with_devices
from research import config_file
from research.errors import ConfigError
from research.train import sharding, trainer


def test_config_argument_unknown_key():
  with pytest.raises(ValueError, match="Unknown config argument 'modle'.*Did you mean 'model'"):
    csl_config.get_config("modle=gt")


def test_config_argument_wrong_type():
  with pytest.raises(TypeError, match="fold='two' must be of type int"):
    csl_config.get_config("fold=two")


def test_config_argument_bare_word_and_float_coercion():
  assert config_args.parse_arg("smoke,lr=1", smoke=False, lr=0.1) == {"smoke": True, "lr": 1.0}


@pytest.mark.parametrize(
  "key, value, message",
  [
    ("model.hidden_dimm", "8", "no key 'model.hidden_dimm'. Did you mean model.hidden_dim"),
    ("seed", "abc", "config.seed='abc' must be of type int"),
    ("data.batch_size", "1.5", "config.data.batch_size=1.5 must be of type int"),
    ("optimizer", "3", "config.optimizer is a group of keys"),
  ],
)
def test_overrides_of_unknown_keys_or_wrong_types(key, value, message):
  with pytest.raises(ConfigError, match=message):
    config_file.load(f"{CSL_CONFIG}:smoke", {key: value})


def test_overrides_parse_by_the_type_of_the_field():
  config = config_file.load(
    f"{CSL_CONFIG}:smoke",
    {"eval_splits": "('test',)", "optimizer.learning_rate": "1", "model.pe": "none", "checkpoint.keep_best": "true"},
  )
  assert config.eval_splits == ("test",) and config.optimizer.learning_rate == 1.0
  assert config.model.pe == "none" and config.checkpoint.keep_best is True


def test_model_kwargs_the_model_does_not_take():
  config = csl_config.get_config("smoke,model=gt")
  with config.model.unlocked():
    config.model.hidden_dimm = 8
  with pytest.raises(ConfigError, match="hidden_dimm.*'gt'"):
    trainer.validate(config)


def test_missing_model_kwargs():
  config = csl_config.get_config("smoke,model=gated_gcn")
  del config.model["hidden_dim"]
  with pytest.raises(ConfigError, match="hidden_dim"):
    trainer.validate(config)


@pytest.mark.parametrize(
  "key, value, message",
  [
    ("optimizer.learning_rate", 0.0, "learning_rate=0.0 must be > 0"),
    ("optimizer.b2", 1.0, "b2=1.0 must be in"),
    ("optimizer.plateau_factor", 1.5, "plateau_factor=1.5 must be in"),
    ("optimizer.name", "lamb", "optimizer.name='lamb'"),
    ("diagnostics.every_steps", 0, "diagnostics.every_steps=0 must be > 0"),
    ("diagnostics.max_skipped_steps", 0, "max_skipped_steps=0 must be > 0"),
    ("diagnostics.on_nonfinite", "ignore", "on_nonfinite='ignore'"),
    ("eval_every_steps", -1, "eval_every_steps=-1 must be >= 0"),
    ("checkpoint.keep", 0, "checkpoint.keep=0 must be > 0"),
    ("seed", -1, "seed=-1 must be >= 0"),
    ("task", "node_regression", "Unknown config.task='node_regression'"),
    ("optimizer.warmup_steps", 18, "warmup_steps=18 is not shorter than training (18 steps)"),
    ("optimizer.weight_decay", 0.1, "'adam' does not apply weight_decay=0.1"),
    ("log_every_steps", 0, "config.log_every_steps=0 must be > 0"),
  ],
)
def test_values_out_of_range(key, value, message):
  config = csl_config.get_config("smoke")
  config_file.override(config, key, value)
  with pytest.raises(ConfigError, match=message.replace("(", "\\(").replace(")", "\\)")):
    trainer.validate(config)


@pytest.mark.parametrize(
  "axes, devices, message",
  [
    ({"data": 3}, 8, "has 3 devices but 8 are available"),
    ({"data": -1, "fsdp": 3}, 8, "does not divide the 8 devices"),
    ({"data": -1, "tensor": -1}, 8, "more than one axis set to -1"),
    ({"pipeline": 2}, 8, "unknown axes"),
  ],
)
def test_mesh_that_does_not_fit_the_devices(axes, devices, message):
  with pytest.raises(ConfigError, match=message):
    sharding.mesh_shape(axes, devices)


@pytest.mark.parametrize(
  "rules, message",
  [
    ({"batch": ("data",), "embed": ("pipeline",)}, "rules.embed=\\('pipeline',\\)"),
    ({"embed": ("fsdp",)}, "rules.batch names no mesh axes"),
  ],
)
def test_sharding_rules_that_name_no_mesh_axis(rules, message):
  with pytest.raises(ConfigError, match=message):
    sharding.check_rules(rules)


def test_mesh_rules_replicate_dimensions_the_mesh_does_not_divide():
  code = (
    "from configs import mesh as m\n"
    "from research.train import sharding as s\n"
    "layout = s.Layout.from_config({'data': 2, 'fsdp': 2, 'tensor': 2}, m.logical_axis_rules())\n"
    "print(layout.spec(('embed', 'mlp'), (70, 35)))\n"
    "print(layout.spec(('embed', 'mlp'), (64, 32)))\n"
  )
  out = subprocess.run(
    [sys.executable, "-c", code],
    env=env_with_devices(8, "/nonexistent"),
    cwd=REPO,
    capture_output=True,
    text=True,
    check=True,
  ).stdout.split("\n")
  assert out[0] == "P('fsdp', None)"
  assert out[1] == "P('fsdp', 'tensor')"


def test_a_warmup_in_epochs_as_long_as_training_is_refused_before_data():
  config = csl_config.get_config("epochs=5")
  config_file.override(config, "optimizer.warmup_epochs", 5)
  with pytest.raises(ConfigError, match="warmup_epochs=5 is not shorter than training \\(config.epochs=5\\)"):
    trainer.validate(config)
