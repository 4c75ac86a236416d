"""`python -m experiments.sweep`: a local sweep killed midway finishes only its missing runs; one launcher
at a time owns a sweep directory; a diverged run is reported and not rerun, a final.json cut short is run
again; bad input fails before anything runs, in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

import tiny_csl_config
from conftest import REPO, SMOKE_SWEEP_RUNS
from experiments import sweep as sweep_cli
from final_files import write_cut_final, write_diverged
from research import rundir
from research.analysis import runs as runs_lib
from research.sweep import spec

GT = "experiments/gt_pattern/config.py"


@pytest.mark.xdist_group("smoke_sweep")  # on the worker that builds the sweep, not one waiting for it
def test_killed_sweep_reruns_only_its_missing_runs(smoke_sweep):
  second = smoke_sweep["second"]
  assert smoke_sweep["returncode"] == 0, second
  finished_before = smoke_sweep["finished_before"]
  assert 3 <= len(finished_before) < SMOKE_SWEEP_RUNS, smoke_sweep["first"]
  assert f"{len(finished_before)} finished already, {SMOKE_SWEEP_RUNS - len(finished_before)} to run" in second
  runs = os.path.join(smoke_sweep["dir"], "runs")
  assert len([r for r in os.listdir(runs) if rundir.is_finished(os.path.join(runs, r))]) == SMOKE_SWEEP_RUNS
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
  assert sweep.run_args(run) == [
    "-m",
    "experiments.run",
    f"--config={GT}:smoke",
    f"--workdir={tmp_path}/runs/pe=lap_sym,seed=41",
    "--config.model.pe=lap_sym",
    "--config.seed=41",
  ]
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
  _fails_with(
    capsys,
    [f"--config={GT}:smoke", "--sweep=ablation_magic", f"--sweep_dir={tmp_path}/s"],
    "Unknown sweep 'ablation_magic'; this config defines: seeds, ablation_pe",
  )
  assert not os.path.exists(tmp_path / "s")


def test_override_of_a_key_the_config_lacks_fails_before_anything_runs(tmp_path, capsys):
  config = tmp_path / "bad_config.py"
  config.write_text(
    textwrap.dedent("""
      from experiments.gt_pattern.config import get_config

      def get_sweep(name=""):
        return [{"seed": 1}, {"model.hidden_size": 64, "seed": 2}]
  """)
  )
  _fails_with(
    capsys,
    [f"--config={config}:smoke", f"--sweep_dir={tmp_path}/s"],
    "Sweep run 'hidden_size=64,seed=2': the config has no key 'model.hidden_size'. Did you mean model.hidden_dim",
  )
  assert not os.path.exists(tmp_path / "s")


def test_sweep_directory_of_another_config_is_refused(tmp_path, capsys):
  assert sweep_cli.main([f"--config={GT}:smoke", "--launcher=slurm", f"--sweep_dir={tmp_path}/s"]) == 0
  gps = "experiments/gps_pattern/config.py"
  _fails_with(
    capsys,
    [f"--config={gps}:smoke", "--launcher=slurm", f"--sweep_dir={tmp_path}/s"],
    "holds a sweep of another config: 'experiments/gt_pattern/config.py'",
  )
  _fails_with(
    capsys,
    [f"--config={GT}", "--launcher=slurm", f"--sweep_dir={tmp_path}/s"],
    "holds a sweep of another config argument: 'smoke'",
  )


def test_config_without_sweeps_and_missing_config_file(tmp_path, capsys):
  config = tmp_path / "plain_config.py"
  config.write_text("from experiments.gt_pattern.config import get_config\n")
  _fails_with(capsys, [f"--config={config}", f"--sweep_dir={tmp_path}/s"], "defines no get_sweep(name)")
  _fails_with(capsys, [f"--config={tmp_path}/nope.py"], "No config file at")


def test_parallel_below_one_and_a_bad_config_argument_fail(tmp_path, capsys):
  _fails_with(
    capsys,
    [f"--config={GT}:smoke", "--parallel=0", f"--sweep_dir={tmp_path}/s"],
    "--parallel=0; run at least 1 at a time.",
  )
  _fails_with(capsys, [f"--config={GT}:smoek", f"--sweep_dir={tmp_path}/s"], "Unknown config argument 'smoek'")
  assert not os.path.exists(tmp_path / "s")


def _sweep_command(sweep_dir, *flags: str) -> list[str]:
  return [
    sys.executable,
    "-m",
    "experiments.sweep",
    f"--config={tiny_csl_config.PATH}",
    f"--sweep_dir={sweep_dir}",
    *flags,
  ]


def test_a_user_mistake_is_one_line_without_traceback_and_an_unexpected_error_keeps_it(tmp_path):
  proc = subprocess.run(_sweep_command(tmp_path / "s", "--sweep=typo"), cwd=REPO, capture_output=True, text=True)
  assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
  assert proc.stderr.startswith("error: ") and "Unknown sweep 'typo'; this config defines: seeds, rows" in proc.stderr
  broken = tmp_path / "broken_config.py"
  broken.write_text("def get_config(arg=''):\n  return 1 / 0\n\ndef get_sweep(name=''):\n  return [{'seed': 1}]\n")
  proc = subprocess.run(
    [sys.executable, "-m", "experiments.sweep", f"--config={broken}", f"--sweep_dir={tmp_path}/b"],
    cwd=REPO,
    capture_output=True,
    text=True,
  )
  assert proc.returncode == 1 and "Traceback" in proc.stderr and "ZeroDivisionError" in proc.stderr


@pytest.fixture(scope="module")
def two_launchers(tmp_path_factory, csl_data_dir):
  """A launcher on the sweep `seeds` (seed=1 with a final.json cut short, seed=2 diverged) and, while its one
  run trains, a second launcher on the same sweep directory."""
  sweep_dir = tmp_path_factory.mktemp("two_launchers") / "sweep"
  cut = write_cut_final(sweep_dir / "runs" / "seed=1")
  diverged = write_diverged(sweep_dir / "runs" / "seed=2").read_text()
  spec.claim_directory(spec.expand(tiny_csl_config.PATH, "", "seeds", str(sweep_dir)))  # as the launcher will
  statuses_before = runs_lib.load_sweep(sweep_dir)["status"].tolist()
  env = {**os.environ, "TFDS_DATA_DIR": csl_data_dir}
  first = subprocess.Popen(
    _sweep_command(sweep_dir, "--sweep=seeds"),
    cwd=REPO,
    env=env,
    text=True,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
  )
  log = sweep_dir / "logs" / "seed=1.log"
  deadline = time.time() + 120
  while not log.exists() and first.poll() is None and time.time() < deadline:  # the run has started
    time.sleep(0.1)
  second = subprocess.run(
    _sweep_command(sweep_dir, "--sweep=seeds"), cwd=REPO, env=env, capture_output=True, text=True, timeout=120
  )
  first_running = first.poll() is None
  out = first.communicate(timeout=600)[0]
  return {
    "dir": sweep_dir,
    "first": first,
    "out": out,
    "second": second,
    "first_running": first_running,
    "cut": str(cut),
    "diverged": diverged,
    "statuses_before": statuses_before,
  }


def test_a_second_launcher_on_the_sweep_directory_stops_at_once_naming_the_first(two_launchers):
  second = two_launchers["second"]
  assert two_launchers["first_running"], "the first launcher ended before the second one tried"
  assert second.returncode == 2 and second.stdout == "", second.stdout + second.stderr
  assert second.stderr.startswith("error: ") and second.stderr.count("\n") == 1, second.stderr
  assert f"in use by another sweep launcher: pid {two_launchers['first'].pid} on host" in second.stderr
  lines = (two_launchers["dir"] / "runs" / "seed=1" / "metrics.jsonl").read_text().splitlines()
  assert lines and len(lines) == len(set(lines))  # every row logged once: one trainer wrote them


def test_a_cut_final_json_is_run_again_and_a_diverged_run_is_reported_not_rerun(two_launchers):
  out = two_launchers["out"]
  assert two_launchers["statuses_before"] == ["incomplete", "diverged"]  # load_sweep reads the cut file
  assert two_launchers["first"].returncode == 3, out
  assert "0 finished already, 1 diverged (not rerun: seed=2), 1 to run" in out
  assert "seed=1 finished in" in out and "1 run(s) diverged, not rerun" in out and "seed=2" in out
  assert rundir.is_finished(two_launchers["dir"] / "runs" / "seed=1")
  assert (two_launchers["dir"] / "runs" / "seed=2" / "final.json").read_text() == two_launchers["diverged"]
  assert not (two_launchers["dir"] / "logs" / "seed=2.log").exists()
  assert runs_lib.load_sweep(two_launchers["dir"])["status"].tolist() == ["finished", "diverged"]


def test_dry_run_says_which_runs_are_finished_diverged_or_to_run(tmp_path, capsys):
  sweep = spec.expand(tiny_csl_config.PATH, "", "rows", str(tmp_path / "s"))
  write_diverged(sweep.workdir(sweep.runs[0]))
  write_cut_final(sweep.workdir(sweep.runs[1]))
  assert (
    sweep_cli.main([f"--config={tiny_csl_config.PATH}", "--sweep=rows", "--dry-run", f"--sweep_dir={tmp_path}/s"]) == 0
  )
  lines = capsys.readouterr().out.splitlines()[1:]
  assert lines[0].split()[:2] == ["pe=none,seed=1", "diverged"]
  assert lines[1].split()[:3] == ["pe=none,seed=2", "to", "run"]
  assert [r.name for r in spec.pending_runs(sweep)] == [r.name for r in sweep.runs[1:]]


def test_sigterm_stops_the_running_runs_with_a_checkpoint(tmp_path):
  import signal

  import psutil

  sweep_dir = tmp_path / "s"
  env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds")}
  launcher = subprocess.Popen(
    [sys.executable, "-m", "experiments.sweep", f"--config={GT}:smoke", "--parallel=1", f"--sweep_dir={sweep_dir}"],
    cwd=REPO,
    env=env,
    stdout=subprocess.PIPE,
    text=True,
  )
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
