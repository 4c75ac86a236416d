"""Shared fixtures: one prepared CSL dataset for the whole session."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def csl_data_dir(tmp_path_factory) -> str:
  """A TFDS data directory holding the prepared CSL dataset."""
  from research.data import csl

  data_dir = str(tmp_path_factory.getbasetemp().parent / "tfds_csl")
  csl.prepare(data_dir)
  return data_dir


SMOKE_SWEEP = ["--config=experiments/gt_pattern/config.py:smoke", "--sweep=ablation_pe", "--parallel=2"]
SMOKE_SWEEP_RUNS = 8  # LapPE vs none x the 4 official seeds


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory) -> dict:
  """The 8-run :smoke sweep of gt_pattern, killed (SIGKILL) once 3 runs had finished, then rerun to the end.

  Tests that use it carry `pytest.mark.xdist_group("smoke_sweep")` so that one worker builds it once.
  Returns the sweep directory, both launches' output, the runs finished before the kill (with the
  modification times of their final.json) and the unfinished runs that had saved a checkpoint.
  """
  import signal
  import subprocess
  import time

  import psutil

  root = tmp_path_factory.mktemp("smoke_sweep")
  sweep_dir = root / "sweep"
  env = {**os.environ, "TFDS_DATA_DIR": str(root / "tfds")}
  command = [sys.executable, "-m", "experiments.sweep", *SMOKE_SWEEP, f"--sweep_dir={sweep_dir}"]
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

  def finals() -> dict[str, float]:
    return {p.parent.name: p.stat().st_mtime for p in sweep_dir.glob("runs/*/final.json")}

  with open(root / "first.log", "w") as log:
    launcher = subprocess.Popen(command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 600
    while len(finals()) < 3 and launcher.poll() is None and time.time() < deadline:
      time.sleep(0.5)
    runs = psutil.Process(launcher.pid).children()
    launcher.send_signal(signal.SIGKILL)
    launcher.wait()
    psutil.wait_procs(runs, timeout=120)  # the runs got SIGTERM from the launcher's death and save a checkpoint
  finished_before = finals()
  resumable = sorted(d.name for d in sweep_dir.glob("runs/*") if (d / "checkpoints").is_dir() and d.name not in finished_before)
  second = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
  return {"dir": str(sweep_dir), "first": (root / "first.log").read_text(), "second": second,
          "finished_before": finished_before, "resumable": resumable}
