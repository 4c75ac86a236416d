"""Run directories and sweeps as pandas frames, for notebooks.

    runs = load_sweep("runs/gt_pattern/sweeps/ablation_pe")       # one row per run of sweep.json
    curves = metric_curves("runs/gt_pattern/sweeps/ablation_pe")  # run, <override keys>, step, metric, value
    grads = diagnostic_curves("runs/gt_pattern/sweeps/ablation_pe/runs/pe=none,seed=41", "grad_norm*")

A run's row holds `run`, the sweep's override keys as given (`model.pe`, `seed`), `status`
(finished / diverged / incomplete / not started), the scalars of final.json (`step`, `total_steps`,
`num_params`, `wall_time_s`, a diverged run's `reason`, ...), the last evaluation
(`final/<split>/<metric>`), the evaluation at the best validation step (`best/step`,
`best/<split>/<metric>`), the resolved config flattened (`config.model.hidden_dim`) and `workdir`.
A run is finished once its final.json parses and says complete (research.rundir), diverged once it
says so; a final.json that does not parse (cut short) makes the run incomplete, like a run still
training, whose `step` is the last step it logged. `research.analysis.aggregate` never averages a
diverged run in. Frames from a sweep carry its override keys in `frame.attrs["overrides"]`, which
`aggregate` and `plots` use to tell variants (e.g. `model.pe`) from replicates (`seed`); curves
name their diverged runs in `frame.attrs["diverged"]`.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from research import rundir
from research.sweep import spec

FINISHED = "finished"
DIVERGED = rundir.DIVERGED
INCOMPLETE = rundir.INCOMPLETE
NOT_STARTED = rundir.NOT_STARTED
STATUSES = {
  rundir.COMPLETE: FINISHED,
  rundir.DIVERGED: DIVERGED,
  rundir.INCOMPLETE: INCOMPLETE,
  rundir.NOT_STARTED: NOT_STARTED,
}
OVERRIDES = "overrides"  # frame.attrs key: the sweep's override keys, in sweep.json order
DIVERGED_RUNS = "diverged"  # curves' frame.attrs key: the names of the diverged runs among them
RUN_FILES = ("config.json", "metrics.jsonl", "diagnostics.jsonl", "final.json")

PathLike = str | os.PathLike


def read_json(path: str) -> Any:
  """The JSON document at `path`; an invalid one fails naming the file and line."""
  with open(path) as f:
    try:
      return json.load(f)
    except json.JSONDecodeError as e:
      raise ValueError(f"{path}, line {e.lineno}: not valid JSON ({e.msg}).") from e


def read_step_rows(path: str) -> list[dict[str, Any]]:
  """The rows of a run's jsonl file; a last line still being written by a live run is left out."""
  return rundir.read_step_rows(path)[0]


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  """Nested dicts as dotted keys ({"model": {"pe": "rwse"}} -> {"model.pe": "rwse"}), lists as tuples."""
  return {key: hashable(value) for key, value in rundir.flatten(mapping, prefix).items()}


def hashable(value: Any) -> Any:
  """Lists as tuples (recursively), so that config values and overrides can be groupby keys."""
  return tuple(map(hashable, value)) if isinstance(value, list) else value


def _listing(directory: str) -> str:
  names = sorted(os.listdir(directory))
  shown = ", ".join(names[:12]) + (f", ... ({len(names)} entries)" if len(names) > 12 else "")
  return f"it holds: {shown}" if names else "it is empty"


def _has_run_files(workdir: str) -> bool:
  return any(os.path.exists(os.path.join(workdir, name)) for name in RUN_FILES)


def check_run_directory(workdir: str) -> None:
  """Fails unless `workdir` is a run directory of `python -m experiments.run`, saying what it is instead."""
  if not os.path.isdir(workdir):
    raise FileNotFoundError(f"No run directory at {workdir!r}.")
  if os.path.exists(os.path.join(workdir, spec.MANIFEST)):
    raise ValueError(f"{workdir!r} is a sweep directory (it holds {spec.MANIFEST}): use load_sweep.")
  if not _has_run_files(workdir):
    raise FileNotFoundError(f"{workdir!r} is not a run directory: no {', '.join(RUN_FILES)} ({_listing(workdir)}).")


def status(workdir: str) -> str:
  """finished (final.json says complete), diverged, incomplete (started, no valid final.json), or not started."""
  run_status = rundir.status(workdir)
  if run_status == rundir.NOT_STARTED and os.path.isdir(workdir) and _has_run_files(workdir):
    return INCOMPLETE  # files of a run that rundir does not count as started: e.g. only a final.json cut short
  return STATUSES[run_status]


def _last_logged_step(workdir: str) -> int | None:
  path = os.path.join(workdir, "metrics.jsonl")
  rows = read_step_rows(path) if os.path.exists(path) else []
  return max((int(r["step"]) for r in rows), default=None)


def _run_row(workdir: str) -> dict[str, Any]:
  """status, final.json's scalars and metric blocks, the flattened config, and workdir."""
  row: dict[str, Any] = {"status": status(workdir)}
  if row["status"] in (FINISHED, DIVERGED):
    final = rundir.read_final(workdir)
    row.update(flatten({k: v for k, v in final.items() if k not in ("status", "final", "best")}))
    row.update(flatten(final.get("final") or {}, "final/"))
    row.update(flatten(final.get("best") or {}, "best/"))
  elif row["status"] == INCOMPLETE:
    row["step"] = _last_logged_step(workdir)
  config_path = os.path.join(workdir, "config.json")
  if os.path.exists(config_path):
    row.update(flatten(read_json(config_path), "config."))
  row["workdir"] = workdir
  return row


def load_run(workdir: PathLike) -> dict[str, Any]:
  """One run directory as a flat dict (see the module docstring); `pd.DataFrame([load_run(a), ...])` stacks them."""
  workdir = os.fspath(workdir)
  check_run_directory(workdir)
  return {"run": os.path.basename(os.path.normpath(workdir)), **_run_row(workdir)}


def read_manifest(sweep_dir: PathLike) -> dict[str, Any]:
  """sweep.json of `sweep_dir`, checked; a missing or malformed one fails saying what the directory holds."""
  sweep_dir = os.fspath(sweep_dir)
  if not os.path.isdir(sweep_dir):
    raise FileNotFoundError(f"No sweep directory at {sweep_dir!r}.")
  path = os.path.join(sweep_dir, spec.MANIFEST)
  if not os.path.exists(path):
    hint = (
      "it is a run directory: use load_run"
      if _has_run_files(sweep_dir)
      else f"{_listing(sweep_dir)}. Pass the directory that `python -m experiments.sweep` made "
      f"(it holds {spec.MANIFEST} and runs/)"
    )
    raise FileNotFoundError(f"No {spec.MANIFEST} in {sweep_dir!r}; {hint}.")
  manifest = read_json(path)
  runs = manifest.get("runs") if isinstance(manifest, dict) else None
  if not isinstance(runs, list) or not all(
    isinstance(r, dict) and {"name", "workdir", "overrides"} <= r.keys() for r in runs
  ):
    raise ValueError(
      f'{path}: expected {{"runs": [{{"name", "workdir", "overrides"}}, ...]}}, as '
      "`python -m experiments.sweep` writes it."
    )
  return manifest


def override_keys(manifest: Mapping[str, Any]) -> list[str]:
  """The override keys of a sweep's runs, in order of first appearance."""
  return list(dict.fromkeys(key for run in manifest["runs"] for key in run["overrides"]))


def _sweep_runs(sweep_dir: str, manifest: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
  """(name, overrides, workdir) of each run; workdirs in sweep.json are relative to the sweep directory."""
  return [
    (r["name"], {k: hashable(v) for k, v in r["overrides"].items()}, os.path.join(sweep_dir, r["workdir"]))
    for r in manifest["runs"]
  ]


def _column_rank(column: str) -> int:
  for rank, prefix in enumerate(("final/", "best/", "config.", "workdir"), 1):
    if column.startswith(prefix):
      return rank
  return 0  # final.json's scalars: step, total_steps, wall_time_s, ...


def _column_order(columns: Sequence[str], leading: Sequence[str]) -> list[str]:
  """`leading`, then final.json's scalars, final/, best/, config. and workdir, each in order of appearance."""
  return [*leading, *sorted((c for c in dict.fromkeys(columns) if c not in leading), key=_column_rank)]


def load_sweep(sweep_dir: PathLike) -> pd.DataFrame:
  """One row per run of sweep.json (runs not started included, with status "not started"), in its order.

  Columns: `run`, the override keys as given (`model.pe`, `seed`), `status`, final.json's scalars,
  `final/...`, `best/...`, `config....`, `workdir`. `frame.attrs` holds the sweep's config,
  config_arg, sweep name, directory and override keys.
  """
  sweep_dir = os.fspath(sweep_dir)
  manifest = read_manifest(sweep_dir)
  keys = override_keys(manifest)
  rows = [
    {"run": name, **overrides, **_run_row(workdir)} for name, overrides, workdir in _sweep_runs(sweep_dir, manifest)
  ]
  frame = pd.DataFrame(rows)
  frame = frame.reindex(columns=_column_order(frame.columns, ["run", *keys, "status"]))
  frame.attrs.update(
    {
      "directory": sweep_dir,
      "config": manifest.get("config"),
      "config_arg": manifest.get("config_arg"),
      "sweep": manifest.get("sweep"),
      OVERRIDES: keys,
    }
  )
  return frame


def _runs_at(path: str) -> tuple[list[tuple[str, dict[str, Any], str]], list[str]]:
  """The runs of a sweep directory, or the one run of a run directory, and the override keys."""
  if os.path.exists(os.path.join(path, spec.MANIFEST)):
    manifest = read_manifest(path)
    return _sweep_runs(path, manifest), override_keys(manifest)
  check_run_directory(path)
  return [(os.path.basename(os.path.normpath(path)), {}, path)], []


def _long_frame(path: str) -> pd.DataFrame:
  """(step, metric, value) of one jsonl file; a value logged twice at a step keeps the last one."""
  records = [(row["step"], key, value) for row in read_step_rows(path) for key, value in row.items() if key != "step"]
  frame = pd.DataFrame(records, columns=["step", "metric", "value"])
  return frame.drop_duplicates(["step", "metric"], keep="last").astype({"step": "int64", "value": "float64"})


def _select(frame: pd.DataFrame, names: str | Sequence[str] | None, source: str) -> pd.DataFrame:
  """Rows whose metric matches one of the glob patterns `names`; a pattern that matches nothing fails."""
  if names is None or frame.empty:
    return frame
  patterns = [names] if isinstance(names, str) else list(names)
  available = frame["metric"].unique().tolist()
  chosen = {p: fnmatch.filter(available, p) for p in patterns}
  missing = [p for p, matched in chosen.items() if not matched]
  if missing:
    shown = ", ".join(sorted(available)[:30]) + (" ..." if len(available) > 30 else "")
    raise ValueError(f"No {source} matches {missing}; logged: {shown}.")
  return frame[frame["metric"].isin({m for matched in chosen.values() for m in matched})]


def _curves(path: PathLike, filename: str, names: str | Sequence[str] | None) -> pd.DataFrame:
  path = os.fspath(path)
  runs, keys = _runs_at(path)
  frames, diverged = [], []
  for name, overrides, workdir in runs:
    file = os.path.join(workdir, filename)
    if os.path.exists(file):
      frame = _long_frame(file)
      frames.append(frame.assign(run=name, **{k: [overrides.get(k)] * len(frame) for k in keys}))
      if rundir.status(workdir) == rundir.DIVERGED:
        diverged.append(name)
  columns = ["run", *keys, "step", "metric", "value"]
  frame = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
  frame = _select(frame, names, filename).reset_index(drop=True)
  frame.attrs.update({OVERRIDES: keys, DIVERGED_RUNS: diverged})
  return frame


def metric_curves(path: PathLike, metrics: str | Sequence[str] | None = None) -> pd.DataFrame:
  """Long frame (run, <override keys>, step, metric, value) of metrics.jsonl of a run or of every run of a sweep.

  `metrics`: names or glob patterns (`"validation/*"`) to keep; None keeps all.
  """
  return _curves(path, "metrics.jsonl", metrics)


def diagnostic_curves(path: PathLike, keys: str | Sequence[str] | None = None) -> pd.DataFrame:
  """Long frame (run, <override keys>, step, metric, value) of diagnostics.jsonl of a run or sweep.

  `keys`: names or glob patterns (`"grad_norm_global"`, `"grad_norm/*"`); None keeps all.
  """
  return _curves(path, "diagnostics.jsonl", keys)
