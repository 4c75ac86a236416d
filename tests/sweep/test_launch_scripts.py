"""The Slurm and TPU launch scripts of a sweep: expected files, shell syntax, what they run, a loopback run.

tests/sweep/expected/ holds the scripts of `golden_sweep()`. After a deliberate change to
research/sweep/scripts.py, rewrite them and review the diff:

    UPDATE_EXPECTED=1 python -m pytest tests/sweep/test_launch_scripts.py

The other tests run the scripts with bash, with stand-ins for python, gcloud, scontrol and srun
that record how they were called, and the last one trains a real run as two processes over loopback.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import portpicker
import pytest

from configs import sweeps
from final_files import final_report, write_cut_final, write_diverged, write_final
from helpers import REPO
from research.sweep import scripts, spec

EXPECTED = pathlib.Path(__file__).parent / "expected"
CONFIG = "experiments/gt_pattern/config.py"


def golden_sweep() -> spec.Sweep:
  overrides = sweeps.product({"model.pe": ["lap_sym", "none"], "seed": [41, 95]})
  runs = tuple(spec.Run(spec.run_name(o), o) for o in overrides)
  return spec.Sweep(CONFIG, "smoke", "ablation_pe", "runs/gt_pattern/sweeps/ablation_pe-smoke", runs)


def golden_files() -> dict[str, str]:
  sweep = golden_sweep()
  return {
    **scripts.slurm_files(sweep, nodes=2, gpus_per_node=4, time="04:00:00", partition="gpu", python="python"),
    **scripts.tpu_files(sweep, tpu_name="gt-pod", zone="us-central2-b", project="my-project", python="python"),
  }


def quoting_sweep(directory: pathlib.Path) -> spec.Sweep:
  """Four runs, one of them setting a string that the shell must pass through unchanged.

  As `end_runs` leaves them: a's final.json is cut short, b finished, c has not started, d diverged.
  """
  runs = (
    spec.Run("a", {"model.pe": 'it\'s "a b" $HOME *'}),
    spec.Run("b", {"seed": 3}),
    spec.Run("c", {"optimizer.learning_rate": 0.001}),
    spec.Run("d", {"seed": 4}),
  )
  return spec.Sweep(CONFIG, "smoke", "quoting", str(directory), runs)


def end_runs(sweep: spec.Sweep) -> list[spec.Run]:
  """Ends the runs of `quoting_sweep` as its docstring says; returns those that must run (a and c)."""
  a, b, c, d = sweep.runs
  write_cut_final(sweep.workdir(a))
  write_final(sweep.workdir(b), final_report())
  write_diverged(sweep.workdir(d))
  return [a, c]


def fake_tool(bin_dir: pathlib.Path, name: str, log: pathlib.Path, then: str = "") -> str:
  """An executable `name` in bin_dir that appends {"argv", "cwd", "coordinator"} to `log`, then runs `then`."""
  path = bin_dir / name
  path.write_text(
    f"#!{sys.executable}\n"
    "import json, os, subprocess, sys\n"
    f"with open({str(log)!r}, 'a') as f:\n"
    "  f.write(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd(),"
    " 'coordinator': os.environ.get('COORDINATOR')}) + '\\n')\n"
    f"{then}\n"
  )
  path.chmod(0o755)
  return str(path)


def fake_python(bin_dir: pathlib.Path, log: pathlib.Path) -> str:
  """A `python` that records how it was called; `-c CODE` (the scripts' status check) it runs for real."""
  return fake_tool(
    bin_dir,
    "python",
    log,
    then=(f"if sys.argv[1] == '-c': sys.exit(subprocess.run([{sys.executable!r}, *sys.argv[1:]]).returncode)"),
  )


def calls(log: pathlib.Path) -> list[dict]:
  return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def run_calls(log: pathlib.Path) -> list[list[str]]:
  """The arguments of the runs started (`python -m experiments.run ...`), not of the status checks."""
  return [call["argv"] for call in calls(log) if call["argv"][0] == "-m"]


def bash(script: str, env: dict[str, str], cwd: str, timeout: float = 30) -> subprocess.CompletedProcess:
  return subprocess.run(["bash", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def clean_env(**extra: str) -> dict[str, str]:
  """This process's environment without Slurm's variables (JAX would read them), plus `extra`."""
  env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
  env.pop("XLA_FLAGS", None)
  return {**env, **extra}


@pytest.mark.parametrize("name", [scripts.SBATCH, scripts.TASK, scripts.TPU])
def test_scripts_match_the_expected_files(name):
  text = golden_files()[name]
  if os.environ.get("UPDATE_EXPECTED") == "1":
    EXPECTED.mkdir(exist_ok=True)
    (EXPECTED / name).write_text(text)
  assert text == (EXPECTED / name).read_text(), f"{name} changed; see this file's docstring to update it."


@pytest.mark.parametrize("name", [scripts.SBATCH, scripts.TASK, scripts.TPU])
def test_scripts_are_valid_bash(name, tmp_path):
  path = tmp_path / name
  path.write_text(golden_files()[name])
  proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
  assert proc.returncode == 0, proc.stderr


def test_partition_and_project_are_optional():
  sweep = golden_sweep()
  sbatch = scripts.slurm_files(sweep, nodes=1, gpus_per_node=8, time="1:00:00")[scripts.SBATCH]
  assert "--partition" not in sbatch and "#SBATCH --gpus-per-node=8\n" in sbatch
  tpu = scripts.tpu_files(sweep, tpu_name="pod", zone="europe-west4-a")[scripts.TPU]
  assert "--project" not in tpu and "PROJECT" not in tpu and "ZONE=europe-west4-a\n" in tpu


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(nodes=0), "nodes >= 1; got 0"),
    (dict(gpus_per_node=-1), "gpus_per_node >= 1; got -1"),
    (dict(time=""), "time limit"),
  ],
)
def test_bad_slurm_settings_fail_naming_them(kwargs, message):
  settings = dict(nodes=1, gpus_per_node=1, time="1:00:00") | kwargs
  with pytest.raises(ValueError, match=message):
    scripts.slurm_files(golden_sweep(), **settings)


def test_a_sweep_directory_slurm_cannot_hold_fails():
  sweep = spec.Sweep(CONFIG, "smoke", "", "runs/my sweep", golden_sweep().runs)
  with pytest.raises(ValueError, match="'runs/my sweep'"):
    scripts.slurm_files(sweep, nodes=1, gpus_per_node=1, time="1:00:00")


def test_a_tpu_without_zone_fails():
  with pytest.raises(ValueError, match="zone"):
    scripts.tpu_files(golden_sweep(), tpu_name="pod", zone="")


def test_write_files_makes_executable_scripts_and_the_log_folder(tmp_path):
  paths = scripts.write_files(str(tmp_path / "sweep"), golden_files())
  assert sorted(os.path.basename(p) for p in paths) == sorted([scripts.SBATCH, scripts.TASK, scripts.TPU])
  assert all(os.access(p, os.X_OK) for p in paths)
  assert (tmp_path / "sweep" / scripts.LOG_DIR).is_dir()


def test_sbatch_script_exports_the_coordinator_and_starts_one_task_script_per_process(tmp_path):
  sweep = golden_sweep()
  scripts.write_files(str(tmp_path), scripts.slurm_files(sweep, nodes=2, gpus_per_node=4, time="1:00:00"))
  bin_dir, log, submit_dir = tmp_path / "bin", tmp_path / "calls.jsonl", tmp_path / "submit"
  bin_dir.mkdir()
  submit_dir.mkdir()
  fake_tool(bin_dir, "scontrol", log, then="print('gpu-a17\\ngpu-a18')")
  fake_tool(bin_dir, "srun", log)
  env = clean_env(
    PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    SLURM_SUBMIT_DIR=str(submit_dir),
    SLURM_JOB_NODELIST="gpu-a[17-18]",
    SLURM_JOB_ID="1234567",
  )
  proc = bash(str(tmp_path / scripts.SBATCH), env, cwd=str(tmp_path))
  assert proc.returncode == 0, proc.stderr
  scontrol, srun = calls(log)
  assert scontrol["argv"] == ["show", "hostnames", "gpu-a[17-18]"]
  assert srun["argv"] == ["--label", "--kill-on-bad-exit=1", "bash", os.path.join(sweep.directory, scripts.TASK)]
  assert srun["cwd"] == str(submit_dir)
  assert srun["coordinator"] == f"gpu-a17:{20000 + 1234567 % 10000}"


def test_task_script_runs_the_run_its_array_task_names(tmp_path):
  sweep = quoting_sweep(tmp_path / "sweep")
  bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
  bin_dir.mkdir()
  python = fake_python(bin_dir, log)
  scripts.write_files(sweep.directory, scripts.slurm_files(sweep, nodes=1, gpus_per_node=2, time="1:00", python=python))
  to_run = end_runs(sweep)
  task = os.path.join(sweep.directory, scripts.TASK)
  env = clean_env(COORDINATOR="node7:20001", SLURM_NTASKS="2", SLURM_PROCID="1", SLURM_LOCALID="1")

  codes = [bash(task, env | {"SLURM_ARRAY_TASK_ID": str(number)}, cwd=REPO).returncode for number in range(4)]
  assert codes == [0, 0, 0, 3]  # d diverged: not rerun, and the array task fails
  multi_process = ["--coordinator_address=node7:20001", "--num_processes=2", "--process_id=1"]
  assert run_calls(log) == [sweep.run_args(run) + multi_process for run in to_run]

  proc = bash(task, env | {"SLURM_ARRAY_TASK_ID": "4"}, cwd=REPO)
  assert proc.returncode == 2 and "no run number 4" in proc.stderr and "0-3" in proc.stderr
  del env["COORDINATOR"]
  proc = bash(task, env | {"SLURM_ARRAY_TASK_ID": "0"}, cwd=REPO)
  assert proc.returncode != 0 and "COORDINATOR" in proc.stderr
  assert len(run_calls(log)) == 2


def test_tpu_script_runs_each_unfinished_run_on_all_workers(tmp_path):
  sweep = quoting_sweep(tmp_path / "sweep")
  bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
  bin_dir.mkdir()
  python = fake_python(bin_dir, log)
  # One worker's view: gcloud runs the --command it was given with bash, as ssh would.
  fake_tool(
    bin_dir,
    "gcloud",
    log,
    then=(
      "command = next(a.removeprefix('--command=') for a in sys.argv if a.startswith('--command='))\n"
      "sys.exit(subprocess.run(['bash', '-c', command]).returncode)"
    ),
  )
  scripts.write_files(sweep.directory, scripts.tpu_files(sweep, tpu_name="pod", zone="z", project="p", python=python))
  to_run = end_runs(sweep)
  checkout = tmp_path / "checkout"
  checkout.mkdir()
  env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", REPO=str(checkout), PYTHONPATH=REPO)

  proc = bash(os.path.join(sweep.directory, scripts.TPU), env, cwd=REPO)
  assert proc.returncode == 0, proc.stderr
  gcloud = [call for call in calls(log) if call["argv"][0] == "compute"]
  assert [call["argv"][:8] for call in gcloud] == [
    ["compute", "tpus", "tpu-vm", "ssh", "pod", "--zone=z", "--project=p", "--worker=all"]
  ] * 4
  assert run_calls(log) == [sweep.run_args(r) + ["--distributed"] for r in to_run]
  assert {call["cwd"] for call in calls(log) if call["argv"][0] == "-m"} == {str(checkout)}
  logs = pathlib.Path(sweep.directory, scripts.LOG_DIR)
  assert sorted(p.name for p in logs.iterdir()) == ["a.log", "b.log", "c.log", "d.log"]
  assert "Finished:" in (logs / "b.log").read_text() and "Diverged, not rerun:" in (logs / "d.log").read_text()


def test_task_script_trains_one_run_as_two_processes_over_loopback(tmp_path, monkeypatch):
  monkeypatch.chdir(REPO)
  sweep = spec.expand(CONFIG, "smoke", "", directory=str(tmp_path / "sweep"))
  files = scripts.slurm_files(sweep, nodes=1, gpus_per_node=2, time="0:10:00", python=sys.executable)
  scripts.write_files(sweep.directory, files)
  env = clean_env(
    JAX_PLATFORMS="cpu",
    PYTHONPATH=REPO,
    SLURM_ARRAY_TASK_ID="1",
    SLURM_NTASKS="2",
    COORDINATOR=f"127.0.0.1:{portpicker.pick_unused_port()}",
  )
  procs = [
    subprocess.Popen(
      ["bash", os.path.join(sweep.directory, scripts.TASK)],
      cwd=REPO,
      text=True,
      env=env | {"SLURM_PROCID": str(i), "SLURM_LOCALID": str(i)},
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT,
    )
    for i in range(2)
  ]
  try:
    outputs = [p.communicate(timeout=240)[0] for p in procs]
  finally:
    for p in procs:
      p.kill()
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-5000:]

  run = sweep.runs[1]
  final = json.loads(pathlib.Path(sweep.workdir(run), "final.json").read_text())
  assert final["processes"] == 2 and final["devices"] == 2 and final["step"] == final["total_steps"]
  config = json.loads(pathlib.Path(sweep.workdir(run), "config.json").read_text())
  assert config["seed"] == run.overrides["seed"]
  assert [r.name for r in spec.pending_runs(sweep)] == [r.name for r in sweep.runs if r != run]
