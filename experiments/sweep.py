"""Expand a config's sweep into runs, and run them here or write cluster scripts for them.

    python -m experiments.sweep --config=experiments/gt_pattern/config.py:smoke --sweep=ablation_pe \\
        --launcher=local --parallel=2
    python -m experiments.sweep --config=experiments/gps_zinc/config.py --launcher=slurm --gpus_per_node=8
    python -m experiments.sweep --config=experiments/gps_pattern/config.py --launcher=tpu --tpu_name=my-pod \\
        --zone=us-central2-b

The config's `get_sweep(NAME)` (configs/sweeps.py) lists one override dict per
run; every run's config is checked before anything runs. Runs live in
`--sweep_dir` (default runs/<experiment>/sweeps/<NAME>[-<ARG>]) as runs/<run name>/,
listed in sweep.json; notebooks read them with research.analysis.

- local: runs the unfinished runs, --parallel at a time, with progress and ETA;
  rerunning skips finished runs and resumes interrupted ones. A run is finished once
  its final.json says complete; a diverged run is reported and not rerun (exit code 3).
  One launcher at a time: a second one on the same sweep directory stops at once.
- slurm: writes sweep.sbatch (an array job, one task per run, one process per GPU)
  and task.sh into the sweep directory; submit with `sbatch <sweep_dir>/sweep.sbatch`.
- tpu: writes tpu_pod.sh, which runs each unfinished run on every worker of a TPU VM pod.
Nothing is submitted. --dry-run lists the runs (and prints the scripts) without writing or running.
A user mistake (config, sweep name, override, flag, a sweep directory in use) ends with one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from research import errors, rundir
from research.sweep import local, scripts, spec

LAUNCHERS = ("local", "slurm", "tpu")
STATUS_LABELS = {
  rundir.COMPLETE: "finished",
  rundir.DIVERGED: "diverged",
  rundir.INCOMPLETE: "to resume",
  rundir.NOT_STARTED: "to run",
}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
  parser = errors.ArgumentParser(prog="python -m experiments.sweep", description=__doc__.split("\n\n")[0])
  parser.add_argument("--config", required=True, help="PATH[:ARG], as for experiments.run")
  parser.add_argument("--sweep", default="", help="the config's sweep name (default: its first, the paper's protocol)")
  parser.add_argument("--launcher", choices=LAUNCHERS, default="local")
  parser.add_argument("--parallel", type=int, default=1, help="local: runs at a time")
  parser.add_argument("--dry-run", "--dry_run", dest="dry_run", action="store_true")
  parser.add_argument("--sweep_dir", default="", help="default runs/<experiment>/sweeps/<sweep>[-<arg>]")
  parser.add_argument("--python", default="", help="interpreter of the runs (local: this one; scripts: python)")
  slurm = parser.add_argument_group("slurm")
  slurm.add_argument("--nodes", type=int, default=1)
  slurm.add_argument("--gpus_per_node", type=int, default=8)
  slurm.add_argument("--time", default="24:00:00")
  slurm.add_argument("--partition", default="")
  tpu = parser.add_argument_group("tpu")
  tpu.add_argument("--tpu_name", default="")
  tpu.add_argument("--zone", default="")
  tpu.add_argument("--project", default="")
  return parser.parse_args(argv)


def launch_scripts(sweep: spec.Sweep, args: argparse.Namespace) -> dict[str, str]:
  """File name -> text of the slurm or TPU scripts."""
  python = args.python or "python"
  if args.launcher == "slurm":
    return scripts.slurm_files(
      sweep, nodes=args.nodes, gpus_per_node=args.gpus_per_node, time=args.time, partition=args.partition, python=python
    )
  return scripts.tpu_files(sweep, tpu_name=args.tpu_name, zone=args.zone, project=args.project, python=python)


def describe(sweep: spec.Sweep) -> str:
  lines = [f"{len(sweep.runs)} runs of {sweep.config_flag}, sweep {sweep.name or 'default'}, in {sweep.directory}:"]
  for run in sweep.runs:
    status = STATUS_LABELS[rundir.status(sweep.workdir(run))]
    lines.append(f"  {run.name:<40} {status:<9} python {shlex.join(sweep.run_args(run))}")
  return "\n".join(lines)


def report(sweep: spec.Sweep, outcome: local.Outcome) -> int:
  """Prints how the local launch ended; returns the exit code (1: a run failed, 3: a run diverged)."""
  if outcome.failed:
    print(local.failures(outcome))
  if outcome.diverged:
    print(
      f"{len(outcome.diverged)} run(s) diverged, not rerun and not averaged in by research.analysis: "
      + ", ".join(outcome.diverged)
    )
  if outcome.failed or outcome.diverged:
    return local.FAILED_EXIT if outcome.failed else local.DIVERGED_EXIT
  print(
    f"All {len(sweep.runs)} runs finished ({len(outcome.skipped)} skipped as already finished); "
    f"read them with research.analysis.load_sweep({sweep.directory!r})."
  )
  return 0


def launch(argv: Sequence[str]) -> int:
  args = parse_args(argv)
  local.check_parallel(args.parallel)
  path, _, arg = args.config.partition(":")
  sweep = spec.expand(path, arg, args.sweep, args.sweep_dir)  # every mistake in the sweep is found here
  files = launch_scripts(sweep, args) if args.launcher != "local" else {}
  if args.dry_run:
    print(describe(sweep))
    for name, text in files.items():
      print(f"\n# ---- {os.path.join(sweep.directory, name)}\n{text}")
    return 0
  with spec.owned(sweep):
    if args.launcher == "local":
      return report(sweep, local.run_local(sweep, parallel=args.parallel, python=args.python or sys.executable))
    for path in scripts.write_files(sweep.directory, files):
      print(f"wrote {path}")
  return 0


def main(argv: Sequence[str] | None = None) -> int:
  """The command line (argv without the program name); a user mistake is one line on stderr and exit code 2."""
  return errors.main_with_user_errors(launch, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
  sys.exit(main())
