"""Sweep directories for the analysis tests: real `:smoke` runs of the CSL config, and hand-written runs
in the run-directory format (for hand-worked numbers)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from final_files import final_report, write_final
from helpers import CSL_CONFIG, REPO, env_with_devices
from research.sweep import spec


def write_sweep(sweep_dir: pathlib.Path, overrides: Sequence[Mapping[str, Any]], name: str = "ablation") -> spec.Sweep:
  """sweep.json of the CSL smoke config with one run per override dict, as `experiments.sweep` writes it."""
  runs = tuple(spec.Run(spec.run_name(o), dict(o)) for o in overrides)
  sweep = spec.Sweep(CSL_CONFIG, "smoke", name, str(sweep_dir), runs)
  spec.claim_directory(sweep)
  return sweep


def train(sweep: spec.Sweep, runs: Sequence[spec.Run], data_dir: str) -> None:
  """`python -m experiments.run` for `runs` of the sweep, all at once, each keeping its best checkpoint."""
  env = env_with_devices(1, data_dir)
  procs = [
    subprocess.Popen(
      [sys.executable, *sweep.run_args(run), "--config.checkpoint.keep_best=True"],
      env=env,
      cwd=REPO,
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT,
      text=True,
    )
    for run in runs
  ]
  for run, proc in zip(runs, procs):
    output = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, f"run {run.name} failed ({proc.returncode}):\n{output[-4000:]}"


def write_jsonl(path: pathlib.Path, rows: Sequence[Mapping[str, Any]]) -> None:
  path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def write_run(
  workdir: str | os.PathLike,
  *,
  config: Mapping[str, Any],
  metrics: Sequence[Mapping[str, Any]] = (),
  diagnostics: Sequence[Mapping[str, Any]] = (),
  final: Mapping[str, float] | None = None,
  best: Mapping[str, float] | None = None,
  step: int = 20,
  status: str = "complete",
) -> None:
  """A run directory by hand; with `final`, one that ended (final.json as the trainer writes it, saying `status`)."""
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / "config.json").write_text(json.dumps(config, indent=2))
  write_jsonl(workdir / "metrics.jsonl", metrics)
  write_jsonl(workdir / "diagnostics.jsonl", diagnostics)
  if final is not None:
    write_final(workdir, final_report(status=status, step=step, final=final, best=best))
