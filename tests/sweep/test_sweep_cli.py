"""`python -m experiments.sweep`: a local sweep killed midway finishes only its missing runs; bad input
fails before anything runs."""

from __future__ import annotations

import json
import os
import textwrap


from conftest import SMOKE_SWEEP_RUNS
from experiments import sweep as sweep_cli
from research.sweep import spec

GT = "experiments/gt_pattern/config.py"


def test_killed_sweep_reruns_only_its_missing_runs(smoke_sweep):
  second = smoke_sweep["second"]
  assert smoke_sweep["returncode"] == 0, second
  finished_before = smoke_sweep["finished_before"]
  assert 3 <= len(finished_before) < SMOKE_SWEEP_RUNS, smoke_sweep["first"]
  assert f"{len(finished_before)} finished already, {SMOKE_SWEEP_RUNS - len(finished_before)} to run" in second
  runs = os.path.join(smoke_sweep["dir"], "runs")
  assert len([r for r in os.listdir(runs) if os.path.exists(os.path.join(runs, r, "final.json"))]) == SMOKE_SWEEP_RUNS
  for name, mtime in finished_before.items():  # not trained again
    assert os.path.getmtime(os.path.join(runs, name, "final.json")) == mtime
  logs = os.path.join(smoke_sweep["dir"], "logs")
  for name in smoke_sweep["resumable"]:  # interrupted runs went on from their checkpoint
    with open(os.path.join(logs, f"{name}.log")) as f:
      assert "Resumed from" in f.read(), name
  with open(os.path.join(smoke_sweep["dir"], "sweep.json")) as f:
    manifest = json.load(f)
  assert (manifest["config"], manifest["config_arg"], manifest["sweep"]) == (GT, "smoke", "ablation_pe")
  expected = {f"pe={pe},seed={s}" for pe in ("lap_sym", "none") for s in (41, 95, 12, 35)}
  assert {r["name"] for r in manifest["runs"]} == expected


def test_run_names_workdirs_and_commands(tmp_path):
  sweep = spec.expand(GT, "smoke", "ablation_pe", str(tmp_path))
  run = sweep.runs[0]
  assert run == spec.Run("pe=lap_sym,seed=41", {"model.pe": "lap_sym", "seed": 41})
  assert sweep.run_args(run) == ["-m", "experiments.run", f"--config={GT}:smoke",
                                 f"--workdir={tmp_path}/runs/pe=lap_sym,seed=41", "--config.model.pe=lap_sym",
                                 "--config.seed=41"]
  assert sweep.configs[run.name].model.pe == "lap_sym" and sweep.configs[sweep.runs[4].name].model.pe == "none"
  assert spec.default_directory(GT, "smoke", "ablation_pe") == "runs/gt_pattern/sweeps/ablation_pe-smoke"
  assert spec.run_name({"model.pe": "none", "data.pe": "x"}) == "model.pe=none,data.pe=x"  # clashing leaves


def test_dry_run_lists_the_runs_and_writes_nothing(tmp_path, capsys):
  assert sweep_cli.main([f"--config={GT}:smoke", "--sweep=ablation_pe", "--dry-run", f"--sweep_dir={tmp_path}/s"]) == 0
  out = capsys.readouterr().out
  assert "8 runs of experiments/gt_pattern/config.py:smoke" in out and "pe=none,seed=35" in out
  assert not os.path.exists(tmp_path / "s")


def _fails_with(capsys, argv, message):
  assert sweep_cli.main(argv) == 2
  err = capsys.readouterr().err
  assert message in err, err


def test_unknown_sweep_name_fails_naming_the_known_ones(tmp_path, capsys):
  _fails_with(capsys, [f"--config={GT}:smoke", "--sweep=ablation_magic", f"--sweep_dir={tmp_path}/s"],
              "Unknown sweep 'ablation_magic'; this config defines: seeds, ablation_pe")
  assert not os.path.exists(tmp_path / "s")


def test_override_of_a_key_the_config_lacks_fails_before_anything_runs(tmp_path, capsys):
  config = tmp_path / "bad_config.py"
  config.write_text(textwrap.dedent("""
      from experiments.gt_pattern.config import get_config

      def get_sweep(name=""):
        return [{"seed": 1}, {"model.hidden_size": 64, "seed": 2}]
  """))
  _fails_with(capsys, [f"--config={config}:smoke", f"--sweep_dir={tmp_path}/s"],
              "Sweep run 'hidden_size=64,seed=2' overrides 'model.hidden_size', which the config does not have")
  assert not os.path.exists(tmp_path / "s")


def test_sweep_directory_of_another_config_is_refused(tmp_path, capsys):
  assert sweep_cli.main([f"--config={GT}:smoke", "--launcher=slurm", f"--sweep_dir={tmp_path}/s"]) == 0
  gps = "experiments/gps_pattern/config.py"
  _fails_with(capsys, [f"--config={gps}:smoke", "--launcher=slurm", f"--sweep_dir={tmp_path}/s"],
              "holds a sweep of another config: 'experiments/gt_pattern/config.py'")
  _fails_with(capsys, [f"--config={GT}", "--launcher=slurm", f"--sweep_dir={tmp_path}/s"],
              "holds a sweep of another config argument: 'smoke'")


def test_config_without_sweeps_and_missing_config_file(tmp_path, capsys):
  config = tmp_path / "plain_config.py"
  config.write_text("from experiments.gt_pattern.config import get_config\n")
  _fails_with(capsys, [f"--config={config}", f"--sweep_dir={tmp_path}/s"], "defines no get_sweep(name)")
  _fails_with(capsys, [f"--config={tmp_path}/nope.py"], "No config file at")


def test_sigterm_stops_the_running_runs_with_a_checkpoint(tmp_path):
  import signal
  import subprocess
  import sys
  import time

  import psutil

  from conftest import REPO

  sweep_dir = tmp_path / "s"
  env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds")}
  launcher = subprocess.Popen([sys.executable, "-m", "experiments.sweep", f"--config={GT}:smoke", "--parallel=1",
                               f"--sweep_dir={sweep_dir}"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
  log = sweep_dir / "logs" / "seed=41.log"
  deadline = time.time() + 300
  while not (log.exists() and "step 2/6" in log.read_text()) and time.time() < deadline:  # the run is training
    time.sleep(0.2)
  (run,) = psutil.Process(launcher.pid).children()
  launcher.send_signal(signal.SIGTERM)
  out, _ = launcher.communicate(timeout=120)
  assert launcher.returncode == 128 + signal.SIGTERM
  assert "Stopped: 1 running run(s) saved a checkpoint" in out
  assert not run.is_running()
  assert "Saved a checkpoint at step" in log.read_text() or (sweep_dir / "runs/seed=41/final.json").exists()
  assert os.listdir(sweep_dir / "runs/seed=41/checkpoints")
