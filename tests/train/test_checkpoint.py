"""Checkpoints: unrestorable ones are moved aside and saved again; restore onto another mesh; a step saved twice."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from experiments.benchmarking_gnns_csl import config as csl_config
from helpers import read_jsonl, run_experiment, train_losses
from research import rundir
from research.train import train_and_evaluate

ARG = "smoke,model=gated_gcn"


def _steps(directory) -> list[int]:
  return sorted(int(d) for d in os.listdir(directory) if d.isdigit())


def _truncate(step_dir) -> None:
  for path in glob.glob(str(step_dir / "state" / "**" / "*"), recursive=True):
    if os.path.isfile(path):
      with open(path, "r+b") as f:
        f.truncate(max(os.path.getsize(path) // 3, 1))


@pytest.fixture(scope="module")
def three_checkpoints(csl_data_dir, tmp_path_factory) -> str:
  """A finished smoke run with checkpoints at steps 9 and 18, then extended to 27 (keeping all three)."""
  workdir = str(tmp_path_factory.mktemp("checkpoints") / "run")
  run_experiment(ARG, workdir, csl_data_dir, ["--config.checkpoint.keep=3", "--config.total_steps=27"])
  assert _steps(os.path.join(workdir, "checkpoints")) == [9, 18, 27]
  return workdir


def _copy(workdir: str, tmp_path) -> str:
  import shutil

  return shutil.copytree(workdir, str(tmp_path / "run"))


def test_unrestorable_newest_checkpoint_is_moved_aside_and_saved_again(three_checkpoints, csl_data_dir, tmp_path):
  workdir = _copy(three_checkpoints, tmp_path)
  checkpoints = tmp_path / "run" / "checkpoints"
  _truncate(checkpoints / "27")
  proc = run_experiment(
    ARG, workdir, csl_data_dir, ["--config.checkpoint.keep=3", "--config.total_steps=27", "--config.log_every_steps=1"]
  )
  aside = glob.glob(str(tmp_path / "run" / "checkpoints.unrestorable" / "27-*"))
  assert len(aside) == 1 and os.path.isdir(aside[0]), "moved aside, never deleted"
  assert "could not be restored" in proc.stdout and aside[0] in proc.stdout
  assert "Resumed from" in proc.stdout and "at step 18" in proc.stdout
  assert _steps(checkpoints) == [9, 18, 27], "step 27 is saved again"
  steps = [r["step"] for r in read_jsonl(os.path.join(workdir, "metrics.jsonl")) if "train/loss" in r]
  assert steps == sorted(set(steps)) and steps[-1] == 27, "no step logged twice"
  again = run_experiment(ARG, workdir, csl_data_dir, ["--config.checkpoint.keep=3", "--config.total_steps=27"])
  assert "at step 27" in again.stdout and "could not be restored" not in again.stdout


def test_all_checkpoints_unrestorable_says_so_and_trains_from_step_0(three_checkpoints, csl_data_dir, tmp_path):
  workdir = _copy(three_checkpoints, tmp_path)
  for step in (9, 18, 27):
    _truncate(tmp_path / "run" / "checkpoints" / str(step))
  proc = run_experiment(ARG, workdir, csl_data_dir, ["--config.checkpoint.keep=3", "--config.total_steps=27"])
  assert "No checkpoint in" in proc.stdout and "training from step 0" in proc.stdout
  assert len(os.listdir(tmp_path / "run" / "checkpoints.unrestorable")) == 3
  assert _steps(tmp_path / "run" / "checkpoints") == [9, 18, 27], "new checkpoints are saved"
  final = rundir.read_final(workdir)
  assert final["status"] == "complete" and final["steps_this_run"] == 27


def test_half_written_final_json_and_partial_metrics_line_are_mended(three_checkpoints, csl_data_dir, tmp_path):
  workdir = _copy(three_checkpoints, tmp_path)
  final_path, metrics_path = tmp_path / "run" / "final.json", tmp_path / "run" / "metrics.jsonl"
  final_path.write_text(final_path.read_text()[:40])
  with open(metrics_path, "a") as f:
    f.write('{"step": 28, "train/lo')
  proc = run_experiment(ARG, workdir, csl_data_dir, ["--config.checkpoint.keep=3", "--config.total_steps=27"])
  assert f"{metrics_path}: its last line is cut short" in proc.stdout
  assert rundir.read_final(workdir)["status"] == "complete"
  assert all(r["step"] <= 27 for r in read_jsonl(str(metrics_path)))


def test_restore_onto_a_different_mesh(csl_data_dir, tmp_path):
  """Train 9 steps on mesh (4), resume on (1,2,2) to 18: same as 18 steps on one device."""
  base = ["--config.data.batch_size=8", "--config.data.eval_batch_size=8", "--config.log_every_steps=1"]
  reference = str(tmp_path / "reference")
  run_experiment("smoke,model=gt", reference, csl_data_dir, base, num_devices=1)
  moved = str(tmp_path / "moved")
  run_experiment(
    "smoke,model=gt", moved, csl_data_dir, base + ["--config.total_steps=9", "--config.mesh.data=4"], num_devices=4
  )
  run_experiment(
    "smoke,model=gt",
    moved,
    csl_data_dir,
    base + ["--config.mesh.data=1", "--config.mesh.fsdp=2", "--config.mesh.tensor=2"],
    num_devices=4,
  )
  a, b = train_losses(reference), train_losses(moved)
  assert sorted(b) == list(range(1, 19))
  np.testing.assert_allclose([a[s] for s in range(1, 19)], [b[s] for s in range(1, 19)], rtol=1e-4, atol=1e-5)
  # Parameters are not compared: biases feeding a BatchNorm get ~0 gradients, which Adam
  # normalises to steps of full size, so float-level differences between meshes show there.


def test_saving_a_step_that_is_already_saved_keeps_the_first(tmp_path):
  # SIGTERM right after a periodic checkpoint asks for the same step again (forced).
  from research.train.checkpoint import Checkpoints

  checkpoints = Checkpoints(str(tmp_path / "ckpt"), keep=2, every_steps=3)
  first = {"w": np.arange(4.0)}
  assert checkpoints.save(3, first)
  assert not checkpoints.save(3, {"w": np.zeros(4)}, force=True)
  checkpoints.wait()
  step, state = checkpoints.restore_latest({"w": np.zeros(4)})
  checkpoints.close()
  assert step == 3 and np.array_equal(state["w"], first["w"])


def test_train_and_evaluate_in_process_writes_a_complete_final_json(csl_data_dir, tmp_path):
  config = csl_config.get_config(ARG)
  config.data.data_dir = csl_data_dir
  final = train_and_evaluate(config, str(tmp_path))
  assert final == rundir.read_final(str(tmp_path)) and final["status"] == "complete"
  assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")], "no temporary files left behind"
