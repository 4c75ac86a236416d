"""Preemption and crashes: resumed runs end with exactly the parameters of an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest

from helpers import CSL_CONFIG, REPO, final_params, read_jsonl, run_command, run_experiment

TOTAL = 600  # long enough that the signal arrives well before the end
OVERRIDES = [
  f"--config.total_steps={TOTAL}",
  "--config.log_every_steps=1",
  "--config.eval_every_steps=50",
  "--config.checkpoint.every_steps=100",
  "--config.diagnostics.every_steps=10",
]
ARG = "smoke,model=gated_gcn,pe=lap"


@pytest.fixture(scope="module")
def uninterrupted(csl_data_dir, tmp_path_factory) -> str:
  workdir = str(tmp_path_factory.mktemp("uninterrupted"))
  run_experiment(ARG, workdir, csl_data_dir, OVERRIDES)
  return workdir


def _start(workdir: str, data_dir: str) -> subprocess.Popen:
  cmd, env = run_command(1, data_dir)
  cmd += [f"--config={CSL_CONFIG}:{ARG}", f"--workdir={workdir}", *OVERRIDES]
  return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_step(workdir: str, step: int, proc: subprocess.Popen, timeout: float = 240) -> None:
  path = os.path.join(workdir, "metrics.jsonl")
  deadline = time.time() + timeout
  while time.time() < deadline:
    assert proc.poll() is None, proc.communicate()[0][-4000:]
    if os.path.exists(path) and any(r["step"] >= step for r in read_jsonl(path)):
      return
    time.sleep(0.05)
  raise TimeoutError(f"the run did not reach step {step}")


def _assert_same_params(a: str, b: str) -> None:
  pa, pb = final_params(a), final_params(b)
  assert pa.keys() == pb.keys()
  for key in pa:
    np.testing.assert_array_equal(pa[key], pb[key], err_msg=key)


def test_kill_9_and_restart_gives_identical_parameters(uninterrupted, csl_data_dir, tmp_path):
  workdir = str(tmp_path)
  proc = _start(workdir, csl_data_dir)
  _wait_for_step(workdir, 210, proc)  # past the checkpoint at step 200
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert not os.path.exists(os.path.join(workdir, "final.json"))
  result = run_experiment(ARG, workdir, csl_data_dir, OVERRIDES)
  assert "Resumed from" in result.stdout + result.stderr
  _assert_same_params(uninterrupted, workdir)
  steps = [r["step"] for r in read_jsonl(os.path.join(workdir, "metrics.jsonl")) if "train/loss" in r]
  assert steps == list(range(1, TOTAL + 1)), "metrics.jsonl must have each step once after a resume"


def test_sigterm_saves_and_resumes(uninterrupted, csl_data_dir, tmp_path):
  workdir = str(tmp_path)
  proc = _start(workdir, csl_data_dir)
  _wait_for_step(workdir, 210, proc)
  proc.send_signal(signal.SIGTERM)
  out = proc.communicate(timeout=120)[0]
  assert proc.returncode == 143, out[-3000:]
  assert "after SIGTERM" in out
  saved = sorted(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit())
  assert saved and 210 <= saved[-1] < TOTAL, f"expected a checkpoint where SIGTERM stopped the run, got {saved}"
  assert not os.path.exists(os.path.join(workdir, "final.json"))
  run_experiment(ARG, workdir, csl_data_dir, OVERRIDES)
  _assert_same_params(uninterrupted, workdir)
