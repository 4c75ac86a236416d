"""Ready-to-submit launch scripts of a sweep: a Slurm array job for GPU nodes, and a TPU VM pod script.

Nothing here submits anything. `slurm_files` and `tpu_files` return {file name: text} for the sweep
directory, and `write_files` puts them there:

    <sweep_dir>/sweep.sbatch   `sbatch <sweep_dir>/sweep.sbatch`: one array task per run, one process per GPU
    <sweep_dir>/task.sh        one process of one run (srun starts it on every GPU of the task's nodes)
    <sweep_dir>/tpu_pod.sh     `bash <sweep_dir>/tpu_pod.sh`: the runs one after another, each on every pod worker
    <sweep_dir>/logs/          Slurm's output files; the TPU script's log of each run

The scripts run from the repository root: the runs' paths in them are those of `Sweep.run_args`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping

from research.errors import ConfigError
from research.sweep.local import DIVERGED_EXIT
from research.sweep.spec import Run, Sweep

SBATCH = "sweep.sbatch"
TASK = "task.sh"
TPU = "tpu_pod.sh"
LOG_DIR = "logs"
CHECKOUT = "diagram-transformers"  # the TPU script's default checkout on the workers, in the remote home
PORT_BASE, PORT_RANGE = 20000, 10000  # Slurm: the coordinator listens on PORT_BASE + job id % PORT_RANGE
STATUS_CODE = "import sys; from research import rundir; print(rundir.status(sys.argv[1]))"  # a run's status


def slurm_files(
  sweep: Sweep,
  *,
  nodes: int,
  gpus_per_node: int,
  time: str,
  partition: str = "",
  python: str = "python",
) -> dict[str, str]:
  """The sbatch array script (one task per run) and the per-process script it starts with srun."""
  _check_positive(nodes=nodes, gpus_per_node=gpus_per_node)
  if not time:
    raise ConfigError("slurm_files needs a time limit, e.g. time='04:00:00' (Slurm's --time).")
  _check_slurm_path(sweep.directory)
  return {SBATCH: _sbatch_script(sweep, nodes, gpus_per_node, time, partition), TASK: _task_script(sweep, python)}


def tpu_files(sweep: Sweep, *, tpu_name: str, zone: str, project: str = "", python: str = "python") -> dict[str, str]:
  """A script that runs the sweep's runs in order, each on every worker of the TPU VM pod `tpu_name`."""
  for flag, value in (("tpu_name", tpu_name), ("zone", zone)):
    if not value:
      raise ConfigError(
        f"tpu_files needs {flag} (the TPU VM's name and zone, as `gcloud compute tpus tpu-vm list` shows them)."
      )
  return {TPU: _tpu_script(sweep, tpu_name, zone, project, python)}


def write_files(directory: str, files: Mapping[str, str]) -> list[str]:
  """Writes `files` into `directory` (scripts executable) and creates its logs/ folder; returns the paths."""
  os.makedirs(os.path.join(directory, LOG_DIR), exist_ok=True)
  paths = []
  for name, text in files.items():
    path = os.path.join(directory, name)
    with open(path, "w") as f:
      f.write(text)
    os.chmod(path, 0o755)
    paths.append(path)
  return paths


def _check_positive(**counts: int) -> None:
  for name, count in counts.items():
    if count < 1:
      raise ConfigError(f"slurm_files needs {name} >= 1; got {count}.")


def _check_slurm_path(directory: str) -> None:
  """#SBATCH lines take the log path as it is: no spaces, quotes or % (Slurm's filename patterns)."""
  if shlex.quote(directory) != directory or "%" in directory:
    raise ConfigError(
      f"Slurm's #SBATCH --output cannot hold the sweep directory {directory!r}; "
      "pass a sweep directory without spaces, quotes, % or other characters the shell would read."
    )


def _description(sweep: Sweep) -> str:
  count = len(sweep.runs)
  return f'sweep "{sweep.name or "default"}" of {sweep.config_flag}: {count} run{"s" * (count != 1)}'


def _path(*parts: str) -> str:
  return shlex.quote(os.path.join(*parts))


def _sbatch_script(sweep: Sweep, nodes: int, gpus_per_node: int, time: str, partition: str) -> str:
  script = _path(sweep.directory, SBATCH)
  experiment = os.path.basename(os.path.dirname(sweep.config_path)) or "sweep"
  directives = {
    "job-name": f"{experiment}-{sweep.name or 'default'}",
    "array": f"0-{len(sweep.runs) - 1}",
    "nodes": nodes,
    "ntasks-per-node": gpus_per_node,
    "gpus-per-node": gpus_per_node,
    "time": time,
    **({"partition": partition} if partition else {}),
    "output": os.path.join(sweep.directory, LOG_DIR, "%A_%a.out"),
  }
  return "\n".join(
    [
      "#!/bin/bash",
      f"# The {_description(sweep)}, one Slurm array task per run;",
      f"# each run on {nodes} node(s) x {gpus_per_node} GPU(s), one process per GPU ({TASK}).",
      "# Submit from the repository root; finished runs exit at once, the others resume from their last checkpoint:",
      "#",
      f"#   sbatch {script}",
      f"#   sbatch --array=2 {script}",
      "#",
      f"# (--array=2: run number 2 only; the numbers are in {TASK}). Output: <job id>_<run number>.out in",
      f"# {os.path.join(sweep.directory, LOG_DIR)}/",
      *(f"#SBATCH --{key}={value}" for key, value in directives.items()),
      "set -euo pipefail",
      'cd "$SLURM_SUBMIT_DIR"',
      "# Process 0 serves the coordinator on the job's first node, at a port taken from the job id, so that array",
      "# tasks sharing a node do not collide.",
      'mapfile -t hosts < <(scontrol show hostnames "$SLURM_JOB_NODELIST")',
      f'export COORDINATOR="${{hosts[0]}}:$(({PORT_BASE} + SLURM_JOB_ID % {PORT_RANGE}))"',
      "# One process per task; --kill-on-bad-exit: a failed process would leave the others waiting in collectives.",
      f"srun --label --kill-on-bad-exit=1 bash {_path(sweep.directory, TASK)}",
      "",
    ]
  )


def _task_case(sweep: Sweep, number: int, run: Run) -> list[str]:
  return [
    f"  {number})  # {run.name}",
    f"    workdir={shlex.quote(sweep.workdir(run))}",
    f"    args=({shlex.join(sweep.run_args(run))}) ;;",
  ]


def _task_script(sweep: Sweep, python: str) -> str:
  last = len(sweep.runs) - 1
  cases = [line for number, run in enumerate(sweep.runs) for line in _task_case(sweep, number, run)]
  return "\n".join(
    [
      "#!/bin/bash",
      f"# One process of one run of the {_description(sweep)}.",
      f"# {SBATCH} starts it once per GPU (srun), from the repository root, with COORDINATOR (host:port of process 0)",
      "# exported; Slurm sets SLURM_ARRAY_TASK_ID (the run's number), SLURM_NTASKS, SLURM_PROCID and SLURM_LOCALID.",
      f"# A finished run exits at once, a diverged one with {DIVERGED_EXIT}; another resumes from its last checkpoint.",
      "set -euo pipefail",
      f': "${{COORDINATOR:?set COORDINATOR=host:port of process 0 ({SBATCH} exports it)}}"',
      f"PYTHON={shlex.quote(python)}",
      "",
      'case "${SLURM_ARRAY_TASK_ID:?set SLURM_ARRAY_TASK_ID to the number of a run}" in',
      *cases,
      f'  *) echo "{TASK}: no run number $SLURM_ARRAY_TASK_ID in this sweep; its runs are 0-{last}." >&2; exit 2 ;;',
      "esac",
      "# A run is done once its final.json parses and says complete, or diverged (research/rundir.py).",
      f'status=$("$PYTHON" -c {shlex.quote(STATUS_CODE)} "$workdir")',
      'case "$status" in',
      '  complete) echo "Run $SLURM_ARRAY_TASK_ID is finished: $workdir/final.json says complete."; exit 0 ;;',
      f'  diverged) echo "Run $SLURM_ARRAY_TASK_ID diverged ($workdir/final.json); not rerun." >&2; '
      f"exit {DIVERGED_EXIT} ;;",
      "esac",
      "# The GPU: every process sees all the GPUs Slurm gave the job on its node (a step gets all of the job's GPUs),",
      "# and jax.distributed.initialize keeps device number SLURM_LOCALID for this process (its default under Slurm).",
      "# Neither CUDA_VISIBLE_DEVICES=$SLURM_LOCALID nor srun --gpus-per-task=1: the process would see a single GPU",
      "# numbered 0 while JAX asks for number SLURM_LOCALID, and hiding the other GPUs stops NCCL's peer-to-peer.",
      'exec "$PYTHON" "${args[@]}" --coordinator_address="$COORDINATOR" --num_processes="$SLURM_NTASKS" \\',
      '    --process_id="$SLURM_PROCID"',
      "",
    ]
  )


def _tpu_script(sweep: Sweep, tpu_name: str, zone: str, project: str, python: str) -> str:
  script = _path(sweep.directory, TPU)
  settings = {"TPU": tpu_name, "ZONE": zone, **({"PROJECT": project} if project else {})}
  project_flag = ' --project="$PROJECT"' if project else ""
  runs = [f"run {shlex.join([sweep.workdir(run), *sweep.run_args(run)])}" for run in sweep.runs]
  return "\n".join(
    [
      "#!/bin/bash",
      f"# The {_description(sweep)},",
      f"# on the TPU VM pod {tpu_name} (zone {zone}): the runs one after another, each on every worker at once;",
      "# --distributed lets each worker's jax.distributed.initialize() find the pod's other workers.",
      "# Nothing here creates the TPU VM. Before:",
      "#  - gcloud is authenticated for the project, and can ssh to the workers;",
      "#  - every worker has this repository checked out at $REPO (relative to the remote home), with its Python",
      "#    environment ($PYTHON) and its datasets, on a disk all workers share (e.g. a Filestore/NFS mount):",
      "#    every worker writes each checkpoint, and a run is done once its final.json says complete or diverged.",
      "# Then, from the repository root here (the runs' paths are relative to it, here and on the workers):",
      "#",
      f"#   bash {script}",
      f"#   REPO=src/{CHECKOUT} bash {script}",
      "#",
      f"# (the second: the workers' checkout is at src/{CHECKOUT}).",
      "# A finished or diverged run is skipped, and running the script again resumes an interrupted one.",
      f"# Each run's output, from all workers, also goes to {_path(sweep.directory, LOG_DIR)}/<run name>.log here.",
      "set -euo pipefail",
      f"REPO=${{REPO:-{CHECKOUT}}}",
      f"PYTHON={shlex.quote(python)}",
      *(f"{name}={shlex.quote(value)}" for name, value in settings.items()),
      f"LOGS={_path(sweep.directory, LOG_DIR)}",
      "",
      "# status WORKDIR: complete, diverged, incomplete or not started (research/rundir.py), read on the workers.",
      f"STATUS={shlex.quote(STATUS_CODE)}",
      "# run WORKDIR ARG...: `$PYTHON ARG... --distributed` on every worker in $REPO, unless WORKDIR is complete or",
      "# diverged.",
      "run() {",
      "  local workdir=$1 quoted args status command",
      "  shift",
      '  quoted=$(printf %q "$workdir")',
      "  args=$(printf '%q ' \"$@\")",
      '  status="$PYTHON -c $(printf %q "$STATUS") $quoted"',
      '  command="cd $REPO && case \\$($status) in complete) echo Finished: $quoted ;; '
      'diverged) echo Diverged, not rerun: $quoted ;; *) $PYTHON $args--distributed ;; esac"',
      f'  gcloud compute tpus tpu-vm ssh "$TPU" --zone="$ZONE"{project_flag} --worker=all --command="$command" \\',
      '      2>&1 | tee -a "$LOGS/${workdir##*/}.log"',
      "}",
      "",
      *runs,
      "",
    ]
  )
