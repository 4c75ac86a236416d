"""The shared reproduce machinery: runs over seeds in worker processes, skips finished runs, writes results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from experiments.benchmarking_gnns_csl import config as csl_config
from research.analysis import reproduction
from helpers import REPO
from research.train import train_or_load


def test_reproduce_over_seeds_writes_results_and_skips_finished_runs(csl_data_dir, tmp_path, capsys):
  runs = []
  for seed in (1, 2):
    config = csl_config.get_config(f"smoke,seed={seed}")
    config.data.data_dir = csl_data_dir
    runs.append((seed, config, str(tmp_path / "runs" / f"seed{seed}")))
  protocol = reproduction.SeedProtocol(
      experiment="csl_smoke", row="GatedGCN", metric="test/accuracy", label="test accuracy (%)", scale=100.0, at="final",
      paper=reproduction.PaperNumber(10.0, 0.0, "Table 13"),
  )
  kwargs = dict(out_dir=str(tmp_path), quick=True, parallel=2, description="smoke")
  text = reproduction.reproduce_over_seeds(protocol, runs, train_or_load, **kwargs)
  results = json.loads((tmp_path / "results.json").read_text())
  (row,) = results["rows"]
  assert row["n"] == 2 and row["paper_mean"] == 10.0 and 0.0 <= row["measured_mean"] <= 100.0
  assert "| GatedGCN | test accuracy (%) |" in text
  finals = [json.loads((tmp_path / "runs" / f"seed{s}" / "final.json").read_text()) for s in (1, 2)]
  assert row["measured_mean"] == sum(100.0 * f["final"]["test/accuracy"] for f in finals) / 2

  stamps = [(tmp_path / "runs" / f"seed{s}" / "final.json").stat().st_mtime_ns for s in (1, 2)]
  reproduction.reproduce_over_seeds(protocol, runs, train_or_load, **kwargs)  # both runs are finished
  assert [(tmp_path / "runs" / f"seed{s}" / "final.json").stat().st_mtime_ns for s in (1, 2)] == stamps
  assert json.loads((tmp_path / "results.json").read_text())["rows"] == results["rows"]
  assert "[2/2] seed" in capsys.readouterr().out


def test_seeds_main_runs_the_quick_protocol_from_the_command_line(tmp_path):
  from experiments.gps_pattern import config as gps_config

  protocol = reproduction.SeedProtocol(experiment="gps_smoke", row="GPS", metric="test/accuracy_sbm", label="acc")
  text = reproduction.seeds_main(
      ["--quick", f"--out={tmp_path / 'out'}", f"--data_dir={tmp_path / 'tfds'}"],
      doc="Smoke.",
      protocol=protocol,
      paper_seeds=(7, 8),
      schedule=reproduction.Schedule(epochs=100, warmup_epochs=5, quick_epochs=1, quick_warmup_epochs=0),
      get_config=lambda arg: gps_config.get_config("smoke," + arg),  # tiny PATTERN, built by seeds_main
      train=train_or_load,
  )
  assert "quick: 1 seed, 1 epochs" in text
  final = json.loads((tmp_path / "out" / "runs" / "seed7" / "final.json").read_text())
  assert json.loads((tmp_path / "out" / "results.json").read_text())["rows"][0]["measured_mean"] == (
      final["best"]["test/accuracy_sbm"])


def _alive(pid: int) -> bool:
  """Running or sleeping; a zombie (exited, not yet reaped) counts as gone."""
  try:
    with open(f"/proc/{pid}/stat") as f:
      return f.read().rsplit(")", 1)[1].split()[0] != "Z"
  except FileNotFoundError:
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_worker_exits_when_its_parent_dies(tmp_path):
  pid_file = tmp_path / "worker.pid"
  script = (
      "import sys\n"
      "from research.sweep import workers\n"
      "import sleeping_worker\n"
      f"list(workers.run_in_workers(sleeping_worker.sleep_until_sigterm, [({str(pid_file)!r},)], 1))\n"
  )
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.path.dirname(os.path.abspath(__file__))]))
  parent = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=REPO)
  worker = None
  try:
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
      assert time.monotonic() < deadline, "the worker never started"
      assert parent.poll() is None, f"the parent exited with {parent.returncode} before the worker started"
      time.sleep(0.1)
    worker = int(pid_file.read_text())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
      time.sleep(0.2)
    assert not _alive(worker), f"worker {worker} outlived its parent by 30 s"
  finally:
    if parent.poll() is None:
      parent.kill()
    if worker is not None and _alive(worker):
      os.kill(worker, signal.SIGKILL)
