"""Shared fixtures: one prepared CSL dataset, and one killed-and-resumed :smoke sweep, for the whole test run."""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _share_compilations() -> str | None:
  """One JAX persistent compilation cache for this test run: its pytest-xdist workers and every subprocess
  they start (the `python -m experiments.run` of a test compiles the same smoke models again and again).
  The cache is keyed by the program and the compiler's flags, so results are those of a fresh compile;
  each run starts with an empty one.
  Returns the cache directory if this process chose it (the controller deletes it at the end).
  """
  if "JAX_COMPILATION_CACHE_DIR" in os.environ:  # the user's own, or the controller's (in an xdist worker)
    return None
  os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jax-cache-")
  os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
  os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
  return os.environ["JAX_COMPILATION_CACHE_DIR"]


_OWN_COMPILATION_CACHE = _share_compilations()


def pytest_unconfigure(config) -> None:
  if _OWN_COMPILATION_CACHE and "PYTEST_XDIST_WORKER" not in os.environ:
    import shutil

    shutil.rmtree(_OWN_COMPILATION_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def csl_data_dir(tmp_path_factory) -> str:
  """A TFDS data directory holding the prepared CSL dataset."""
  from research.data import csl

  data_dir = str(tmp_path_factory.getbasetemp().parent / "tfds_csl")
  csl.prepare(data_dir)
  return data_dir


SMOKE_SWEEP = ["--config=experiments/gt_pattern/config.py:smoke", "--sweep=ablation_pe", "--parallel=2"]
SMOKE_SWEEP_RUNS = 8  # LapPE vs none x the 4 official seeds


def _build_smoke_sweep(root: pathlib.Path) -> dict:
  """Runs the sweep in root/sweep, kills the launcher (SIGKILL) once 3 runs have finished, then reruns it."""
  import signal
  import subprocess
  import time

  import psutil

  sweep_dir = root / "sweep"
  env = {**os.environ, "TFDS_DATA_DIR": str(root / "tfds")}
  command = [sys.executable, "-m", "experiments.sweep", *SMOKE_SWEEP, f"--sweep_dir={sweep_dir}"]

  def finals() -> dict[str, float]:
    return {p.parent.name: p.stat().st_mtime for p in sweep_dir.glob("runs/*/final.json")}

  with open(root / "first.log", "w") as log:
    launcher = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 600
    while len(finals()) < 3 and launcher.poll() is None and time.time() < deadline:
      time.sleep(0.5)
    runs = psutil.Process(launcher.pid).children()
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    psutil.wait_procs(runs, timeout=120)  # the runs got SIGTERM from the launcher's death and save a checkpoint
  finished_before = finals()
  resumable = sorted(
    d.name
    for d in sweep_dir.glob("runs/*")  # a saved step: a run stopped before its first has none
    if any(s.name.isdigit() for s in d.glob("checkpoints/*")) and d.name not in finished_before
  )
  second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
  return {
    "dir": str(sweep_dir),
    "first": (root / "first.log").read_text(),
    "returncode": second.returncode,
    "second": second.stdout + second.stderr,
    "finished_before": finished_before,
    "resumable": resumable,
  }


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory, worker_id) -> dict:
  """The 8-run :smoke sweep of gt_pattern, killed midway and rerun to the end; built once for all workers.

  Returns the sweep directory, both launches' output (and the second's exit code), the runs finished
  before the kill (with the modification times of their final.json) and the unfinished runs that had
  saved a checkpoint. The first pytest-xdist worker to ask builds it under a lock; the others wait
  for it and read its result.
  """
  import fcntl
  import json

  base = tmp_path_factory.getbasetemp()
  root = (base if worker_id == "master" else base.parent) / "smoke_sweep"  # xdist: shared by this run's workers
  root.mkdir(exist_ok=True)
  result = root / "result.json"
  with open(root / ".lock", "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not result.exists():
      result.write_text(json.dumps(_build_smoke_sweep(root)))
  return json.loads(result.read_text())
