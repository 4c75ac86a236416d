"""Shared test utilities: subprocess runs with fake CPU devices, reading run directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSL_CONFIG = os.path.join(REPO, "experiments", "benchmarking_gnns_csl", "config.py")


def env_with_devices(num_devices: int, data_dir: str) -> dict[str, str]:
  env = dict(os.environ)
  env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={num_devices}"
  env["TFDS_DATA_DIR"] = data_dir
  env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
  env.pop("JAX_PLATFORMS", None)
  return env


def run_command(num_devices: int, data_dir: str) -> tuple[list[str], dict[str, str]]:
  return [sys.executable, "-m", "experiments.run"], env_with_devices(num_devices, data_dir)


def run_experiment(
  config_arg: str,
  workdir: str,
  data_dir: str,
  overrides: Sequence[str] = (),
  num_devices: int = 1,
  check: bool = True,
  timeout: float = 300,
) -> subprocess.CompletedProcess:
  """`python -m experiments.run` in a fresh process with `num_devices` CPU devices."""
  cmd, env = run_command(num_devices, data_dir)
  cmd += [f"--config={CSL_CONFIG}:{config_arg}", f"--workdir={workdir}", *overrides]
  proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
  if check and proc.returncode != 0:
    raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
  return proc


def read_jsonl(path: str) -> list[dict]:
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def train_losses(workdir: str) -> dict[int, float]:
  return {r["step"]: r["train/loss"] for r in read_jsonl(os.path.join(workdir, "metrics.jsonl")) if "train/loss" in r}


def final_params(workdir: str) -> dict:
  """The parameters of the newest checkpoint, as a flat {path: numpy array}."""
  import jax
  import orbax.checkpoint as ocp

  directory = os.path.join(workdir, "checkpoints")
  step = max(int(d) for d in os.listdir(directory) if d.isdigit())
  path = os.path.join(directory, str(step), "state")
  checkpointer = ocp.PyTreeCheckpointer()
  metadata = checkpointer.metadata(path).item_metadata.tree
  as_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=__import__("numpy").ndarray), metadata)
  tree = checkpointer.restore(path, restore_args=as_numpy)
  flat = jax.tree_util.tree_flatten_with_path(tree["params"])[0]
  return {jax.tree_util.keystr(p): v for p, v in flat}


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
  """A user mistake's ending: exit code 2, one line `error: ...` on stderr holding every fragment, no traceback."""
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  assert proc.returncode == 2, f"exit code {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
  assert len(lines) == 1 and lines[0].startswith("error: "), f"expected one line on stderr, got:\n{proc.stderr}"
  assert "Traceback" not in proc.stdout + proc.stderr
  for fragment in fragments:
    assert fragment in lines[0], f"{fragment!r} not in: {lines[0]}"
  return lines[0]
