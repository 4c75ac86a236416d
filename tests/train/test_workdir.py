"""A workdir holds one run of one config: the lock, the config check on restart, atomic files."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from helpers import CSL_CONFIG, REPO, assert_user_error, read_jsonl, run_command, run_experiment
from research import rundir
from research.train import workdir as workdir_lib

ARG = "smoke,model=gated_gcn"


def test_second_run_on_a_workdir_refuses_and_the_first_finishes_untouched(csl_data_dir, tmp_path):
  workdir = str(tmp_path / "run")
  cmd, env = run_command(1, csl_data_dir)
  first = subprocess.Popen(
    cmd
    + [
      f"--config={CSL_CONFIG}:{ARG}",
      f"--workdir={workdir}",
      "--config.total_steps=400",
      "--config.log_every_steps=1",
    ],
    env=env,
    cwd=REPO,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
  )
  deadline = time.time() + 120
  while not os.path.exists(os.path.join(workdir, "metrics.jsonl")) and time.time() < deadline:
    assert first.poll() is None, first.communicate()[0][-3000:]
    time.sleep(0.1)
  second = run_experiment(ARG, workdir, csl_data_dir, ["--config.total_steps=400"], check=False)
  assert_user_error(second, f"pid {first.pid}", "in use by another run")
  out = first.communicate(timeout=300)[0]
  assert first.returncode == 0, out[-3000:]
  steps = [r["step"] for r in read_jsonl(os.path.join(workdir, "metrics.jsonl")) if "train/loss" in r]
  assert steps == list(range(1, 401)), "the first run's rows, each once"
  assert rundir.read_final(workdir)["status"] == "complete"


@pytest.fixture(scope="module")
def finished_fold0(csl_data_dir, tmp_path_factory) -> str:
  workdir = str(tmp_path_factory.mktemp("fold0") / "run")
  run_experiment(ARG, workdir, csl_data_dir)
  return workdir


def _copy(workdir: str, tmp_path) -> str:
  import shutil

  target = str(tmp_path / "copy")
  shutil.copytree(workdir, target)
  return target


@pytest.mark.parametrize(
  "change, keys",
  [
    (["--config.data.fold=1"], ["data.fold 0 -> 1"]),
    (["--config.model.name=gt", "--config.model.hidden_dim=16"], ["model.name 'gated_gcn' -> 'gt'"]),
  ],
)
def test_restart_under_another_config_is_refused_naming_the_keys(finished_fold0, csl_data_dir, tmp_path, change, keys):
  workdir = _copy(finished_fold0, tmp_path)
  before = {name: os.path.getmtime(os.path.join(workdir, name)) for name in ("config.json", "final.json")}
  proc = run_experiment(ARG, workdir, csl_data_dir, change, check=False)
  assert_user_error(proc, "holds a run of another config", "--adopt_config", *keys)
  assert before == {name: os.path.getmtime(os.path.join(workdir, name)) for name in before}, "nothing rewritten"


def test_restart_with_more_steps_resumes(finished_fold0, csl_data_dir, tmp_path):
  workdir = _copy(finished_fold0, tmp_path)
  proc = run_experiment(ARG, workdir, csl_data_dir, ["--config.total_steps=27", "--config.log_every_steps=9"])
  assert "Resumed from" in proc.stdout and "at step 18" in proc.stdout
  final = rundir.read_final(workdir)
  assert final["step"] == 27 and final["steps_this_run"] == 9
  assert os.path.exists(os.path.join(workdir, "final.step_18.json")), "the earlier end's final.json is kept"


def test_adopt_config_continues_and_keeps_the_old_config(finished_fold0, csl_data_dir, tmp_path):
  workdir = _copy(finished_fold0, tmp_path)
  run_experiment(
    ARG, workdir, csl_data_dir, ["--config.optimizer.learning_rate=1e-3", "--config.total_steps=27", "--adopt_config"]
  )
  kept = [n for n in os.listdir(workdir) if n.startswith("config.before_")]
  assert len(kept) == 1
  with open(os.path.join(workdir, kept[0])) as f:
    assert json.load(f)["optimizer"]["learning_rate"] == 5e-4
  with open(os.path.join(workdir, "config.json")) as f:
    assert json.load(f)["optimizer"]["learning_rate"] == 1e-3


def test_unwritable_workdir_fails_before_the_dataset_is_built(tmp_path):
  blocker = tmp_path / "a_file"
  blocker.write_text("not a directory")
  data_dir = tmp_path / "tfds"
  proc = run_experiment(ARG, str(blocker / "run"), str(data_dir), check=False)
  assert_user_error(proc, "Cannot write the run directory", str(blocker / "run"))
  assert not data_dir.exists(), "the dataset must not be built for a run that cannot be written"


def test_resumable_keys_are_the_documented_list():
  assert workdir_lib.is_resumable("total_steps") and workdir_lib.is_resumable("mesh.data")
  assert workdir_lib.is_resumable("sharding.rules.embed")
  assert not workdir_lib.is_resumable("seed") and not workdir_lib.is_resumable("data.fold")
  assert not workdir_lib.is_resumable("data.batch_size")
  changes = workdir_lib.changed_keys(
    {"seed": 1, "total_steps": 5, "data": {"fold": 0}}, {"seed": 2, "total_steps": 9, "data": {"fold": 0, "extra": 1}}
  )
  assert changes == {"data.extra": (None, 1), "seed": (1, 2)}
