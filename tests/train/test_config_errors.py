"""Every config mistake a user can make fails before any compute, with a message naming it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from configs import args as config_args
from experiments.benchmarking_gnns_csl import config as csl_config
from helpers import REPO, env_with_devices, run_experiment
from research.train import sharding, trainer


def test_config_argument_unknown_key():
  with pytest.raises(ValueError, match="Unknown config argument 'modle'"):
    csl_config.get_config("modle=gt")


def test_config_argument_wrong_type():
  with pytest.raises(TypeError, match="fold='two' must be of type int"):
    csl_config.get_config("fold=two")


def test_config_argument_bare_word_and_float_coercion():
  assert config_args.parse_arg("smoke,lr=1", smoke=False, lr=0.1) == {"smoke": True, "lr": 1.0}


@pytest.mark.parametrize(
    "override, message",
    [
        ("--config.model.hidden_dimm=8", "hidden_dimm"),
        ("--config.seed=abc", "seed"),
        ("--config.data.batch_size=1.5", "batch_size"),
    ],
)
def test_run_rejects_unknown_keys_and_wrong_types(override, message, tmp_path, csl_data_dir):
  proc = run_experiment("smoke", str(tmp_path / "run"), csl_data_dir, [override], check=False, timeout=120)
  assert proc.returncode != 0
  assert message in proc.stderr + proc.stdout
  assert not (tmp_path / "run" / "metrics.jsonl").exists(), "nothing may run before the config is checked"


def test_model_kwargs_the_model_does_not_take():
  config = csl_config.get_config("smoke,model=gt")
  with config.model.unlocked():
    config.model.hidden_dimm = 8
  with pytest.raises(ValueError, match="hidden_dimm.*'gt'"):
    trainer.validate(config)


def test_missing_model_kwargs():
  config = csl_config.get_config("smoke,model=gated_gcn")
  del config.model["hidden_dim"]
  with pytest.raises(ValueError, match="hidden_dim"):
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
  with pytest.raises(ValueError, match=message):
    sharding.mesh_shape(axes, devices)


def test_mesh_not_dividing_devices_fails_the_run(tmp_path, csl_data_dir):
  proc = run_experiment("smoke", str(tmp_path), csl_data_dir, ["--config.mesh.data=3"], num_devices=8, check=False, timeout=120)
  assert proc.returncode != 0 and "config.mesh" in proc.stderr and "8 are available" in proc.stderr


def test_batch_not_divisible_by_data_parallel_size(tmp_path, csl_data_dir):
  proc = run_experiment(
      "smoke", str(tmp_path), csl_data_dir, ["--config.mesh.data=4", "--config.mesh.fsdp=2", "--config.data.batch_size=12"],
      num_devices=8, check=False, timeout=120,
  )
  assert proc.returncode != 0
  assert "config.data.batch_size=12 is not divisible by the data-parallel size 8" in proc.stderr


def test_mesh_rules_replicate_dimensions_the_mesh_does_not_divide():
  code = (
      "import jax; from research.train import sharding as s\n"
      "m = s.make_mesh({'data': 2, 'fsdp': 2, 'tensor': 2})\n"
      "print(s.logical_to_mesh_spec(('embed', 'mlp'), (70, 35), m))\n"
      "print(s.logical_to_mesh_spec(('embed', 'mlp'), (64, 32), m))\n"
  )
  out = subprocess.run([sys.executable, "-c", code], env=env_with_devices(8, "/nonexistent"), cwd=REPO,
                       capture_output=True, text=True, check=True).stdout.split("\n")
  assert out[0] == "P('fsdp', None)"
  assert out[1] == "P('fsdp', 'tensor')"
