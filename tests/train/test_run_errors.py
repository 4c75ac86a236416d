"""Every user mistake at `python -m experiments.run`: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import subprocess

import pytest

from helpers import CSL_CONFIG, REPO, assert_user_error, run_command, run_experiment
from research import rundir


def _run(args: list[str], data_dir: str, num_devices: int = 1, env_extra: dict | None = None):
  cmd, env = run_command(num_devices, data_dir)
  return subprocess.run(
    cmd + args, env={**env, **(env_extra or {})}, cwd=REPO, capture_output=True, text=True, timeout=300
  )


@pytest.mark.parametrize(
  "args, fragments",
  [
    ([f"--config={CSL_CONFIG}:smoke", "--config.nonexistent_key=3"], ["no key 'nonexistent_key'"]),
    (
      [f"--config={CSL_CONFIG}:smoke", "--config.optimizer.learnig_rate=1"],
      ["no key 'optimizer.learnig_rate'", "Did you mean optimizer.learning_rate"],
    ),
    ([f"--config={CSL_CONFIG}:smoke,modle=gt"], ["Unknown config argument 'modle'", "Did you mean 'model'"]),
    ([f"--config={CSL_CONFIG.replace('config.py', 'confg.py')}:smoke"], ["No config file", "Did you mean"]),
    ([f"--config={CSL_CONFIG}:smoke", "--config.seed=abc"], ["config.seed='abc' must be of type int"]),
    ([f"--config={CSL_CONFIG}:smoke", "--workdirr=x"], ["workdirr"]),
  ],
)
def test_command_line_mistakes_fail_before_any_compute(args, fragments, tmp_path):
  proc = _run(args + [f"--workdir={tmp_path / 'run'}"], str(tmp_path / "tfds"))
  assert_user_error(proc, *fragments)
  assert not (tmp_path / "run").exists() and not (tmp_path / "tfds").exists()


@pytest.mark.parametrize(
  "override, fragment",
  [
    ("--config.optimizer.learning_rate=-1", "config.optimizer.learning_rate=-1.0 must be > 0"),
    ("--config.data.batch_size=0", "config.data.batch_size=0"),  # checked by research.data
    ("--config.checkpoint.every_steps=0", "config.checkpoint.every_steps=0 must be > 0"),
  ],
)  # through the command line; every other range check: tests/train/test_config_errors.py
def test_values_out_of_range_fail_before_training(override, fragment, csl_data_dir, tmp_path):
  proc = run_experiment("smoke", str(tmp_path / "run"), csl_data_dir, [override], check=False)
  assert_user_error(proc, fragment)
  assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_mesh_that_does_not_fit_the_devices(tmp_path, csl_data_dir):
  proc = run_experiment("smoke", str(tmp_path), csl_data_dir, ["--config.mesh.data=3"], num_devices=8, check=False)
  assert_user_error(proc, "config.mesh", "8 are available")


def test_batch_not_divisible_by_the_data_parallel_size(tmp_path, csl_data_dir):
  proc = run_experiment(
    "smoke",
    str(tmp_path),
    csl_data_dir,
    ["--config.mesh.data=4", "--config.mesh.fsdp=2", "--config.data.batch_size=12"],
    num_devices=8,
    check=False,
  )
  assert_user_error(proc, "config.data.batch_size=12 is not divisible by the data-parallel size 8")


def test_traceback_on_request(tmp_path):
  proc = _run([f"--config={CSL_CONFIG}:smoke", "--config.nonexistent_key=3", "--traceback"], str(tmp_path))
  assert proc.returncode != 0 and "Traceback" in proc.stderr and "ConfigError" in proc.stderr


def test_nonfinite_stop_names_step_and_module_and_records_divergence(csl_data_dir, tmp_path):
  workdir = str(tmp_path / "run")
  proc = run_experiment(
    "smoke,model=gated_gcn", workdir, csl_data_dir, ["--config.optimizer.learning_rate=1e30"], check=False
  )
  line = assert_user_error(proc, "Non-finite", "at step 2", "module '", "Recorded as diverged")
  final = rundir.read_final(workdir)
  assert final["status"] == "diverged" and final["reason"] in line and final["nonfinite_step"] == 2


def test_skip_step_stops_after_too_many_skipped_steps_as_diverged(csl_data_dir, tmp_path):
  """The issue's probe: skip_step with lr=1e30 skipped 59 of 60 steps and exited 0 with NaN metrics."""
  workdir = str(tmp_path / "run")
  proc = run_experiment(
    "smoke,model=gated_gcn",
    workdir,
    csl_data_dir,
    [
      "--config.optimizer.learning_rate=1e30",
      "--config.diagnostics.on_nonfinite=skip_step",
      "--config.total_steps=60",
      "--config.diagnostics.max_skipped_steps=5",
    ],
    check=False,
  )
  assert_user_error(proc, "5 steps in a row were non-finite and skipped (the last: step 6")
  final = rundir.read_final(workdir)
  assert final["status"] == "diverged" and final["nonfinite_step"] == 6
  assert not rundir.is_finished(workdir) and rundir.is_done(workdir)


def test_unexpected_errors_keep_their_traceback(csl_data_dir, tmp_path):
  """A bug is not a user mistake: a get_config that raises RuntimeError keeps its traceback."""
  config_dir = tmp_path / "exp"
  config_dir.mkdir()
  (config_dir / "config.py").write_text("def get_config(arg=''):\n  raise RuntimeError('a bug in get_config')\n")
  proc = _run([f"--config={config_dir / 'config.py'}"], csl_data_dir)
  assert proc.returncode == 1 and "Traceback" in proc.stderr and "a bug in get_config" in proc.stderr
