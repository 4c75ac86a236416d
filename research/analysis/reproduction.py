"""One path from an experiment's config to its paper table: `python -m experiments.<name>.reproduce`.

An experiment's config.py states its protocol as data, in `get_protocol()` (a plain dict):

    def get_protocol() -> dict[str, object]:
      return {
          "sweep": "table10",             # the get_sweep(name) whose runs make the table ("": its default)
          "metric": "test/accuracy",      # read from each run's final.json, in the block ...
          "at": "final",                  # ... "final" (the last step) or "best" (the best-validation step)
          "scale": 100.0,                 # the table shows scale x metric (default 1)
          "label": "test accuracy (%)",   # the metric as the table names it (default: metric)
          "paper": "benchmarking_gnns",   # papers/<paper>.yaml (default: no paper numbers)
          "rows": [                       # one row per group of the sweep's runs, told apart by override values
              {"name": "GatedGCN", "runs": {"model.pe": "none"},
               "table": "csl_pe_study", "match": {"model": "GatedGCN", "pe": "none"}},
              {"name": "GT + LapPE", "runs": {"arg:model": "gt"}},   # no table: the paper does not report it
          ],
          "quick": {"config_arg": "epochs=100",   # --quick: the config argument of its shorter runs ...
                    "runs": {"seed": [14]},       # ... which of the sweep's runs it makes ...
                    "drop_rows": {"GT + LapPE": "why, as measured"}},  # ... and rows it leaves out
          "parallel": 2,                  # runs at a time unless --parallel says otherwise (default 1)
      }

`runs` selects runs by their overrides: per key, a value or a list of the values allowed (a row
without `runs` takes every run). Every run belongs to exactly one row. A row's `table` and `match`
name its reported mean ± std: the row of that table of the paper whose fields equal `match`.

`main(config_path)` is all that each reproduce.py calls. It expands the protocol's sweep
(research.sweep.spec) and runs it with the local sweep launcher, in the sweep directory
`OUT/paper/` (`OUT/quick/` with --quick) like any sweep: locked, resumable, --parallel runs at a
time with progress and ETA, each dataset prepared once. `--seeds=N` takes the runs of the sweep's
first N seeds. Then it reads each run's final.json and writes OUT/results.md and OUT/results.json
(DESIGN.md's format; each row also lists its diverged runs). A diverged run is counted and named
in the table, never averaged in, and makes the exit code 3; a failed run writes no table (exit
code 1; rerunning resumes it). User mistakes end as one line and exit code 2 (research.errors).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from research import config_file, errors, rundir
from research.analysis.papers import PaperNumber, paper_number
from research.durations import format_duration
from research.errors import ConfigError
from research.sweep import local, spec

AT = {"best": "the best-validation step", "final": "the last step"}
PROTOCOL = {
  "sweep": "",
  "metric": None,
  "at": "best",
  "scale": 1.0,
  "label": "",
  "paper": "",
  "rows": None,
  "quick": None,
  "parallel": 1,
}  # None: required
ROW = {"name": None, "runs": {}, "table": "", "match": {}}
QUICK = {"config_arg": "", "runs": {}, "drop_rows": {}}
SEED = "seed"  # the override key that --seeds counts


@dataclasses.dataclass(frozen=True)
class RowSpec:
  """A row of the protocol: its name, which runs it averages, and the paper's number (if reported)."""

  name: str
  runs: Mapping[str, Any]
  paper: PaperNumber | None


@dataclasses.dataclass(frozen=True)
class Protocol:
  """A config's get_protocol(), checked, with what the command line needs to know about its sweep."""

  config_path: str
  sweep: str
  metric: str
  at: str
  scale: float
  label: str
  rows: tuple[RowSpec, ...]
  quick_arg: str
  quick_runs: Mapping[str, Any]
  quick_drops: Mapping[str, str]  # row name -> why the quick protocol leaves it out
  parallel: int
  seeds: tuple[Any, ...]  # the sweep's seeds in order (none if it does not vary `seed`)
  needs_manual_dir: bool  # the config reads released files from config.data.manual_dir

  @property
  def experiment(self) -> str:
    return spec.experiment_name(self.config_path)


@dataclasses.dataclass(frozen=True)
class Plan:
  """What one reproduction runs: the sweep (its directory), the runs of the table, and their rows."""

  sweep: spec.Sweep
  runs: tuple[spec.Run, ...]
  groups: tuple[tuple[RowSpec, tuple[spec.Run, ...]], ...]
  description: str
  dropped: Mapping[str, str] = dataclasses.field(default_factory=dict)  # rows left out (quick), with why


@dataclasses.dataclass
class Row:
  """One line of results.md / results.json: the values of its complete runs, and its diverged runs."""

  name: str
  metric: str
  values: list[float]
  paper: PaperNumber | None = None
  diverged: list[str] = dataclasses.field(default_factory=list)

  @property
  def mean(self) -> float | None:
    return float(np.mean(self.values)) if self.values else None

  @property
  def std(self) -> float | None:
    return float(np.std(self.values)) if self.values else None  # population std (ddof=0), as the papers' scripts

  @property
  def within_paper_spread(self) -> bool | None:
    """|measured mean - paper mean| <= paper std (a paper std of 0 asks for the same mean)."""
    if self.paper is None or self.mean is None:
      return None
    return abs(self.mean - self.paper.mean) <= self.paper.std + 1e-6

  def to_json(self) -> dict[str, Any]:
    return {
      "name": self.name,
      "metric": self.metric,
      "measured_mean": self.mean,
      "measured_std": self.std,
      "n": len(self.values),
      "paper_mean": self.paper.mean if self.paper else None,
      "paper_std": self.paper.std if self.paper else None,
      "within_paper_spread": self.within_paper_spread,
      "diverged": len(self.diverged),
      "diverged_runs": list(self.diverged),
    }


def _read(values: Any, defaults: Mapping[str, Any], where: str) -> dict[str, Any]:
  """`values` (a dict) with `defaults` for the keys it lacks; an unknown key, or a missing required one
  (default None), is a ConfigError."""
  if not isinstance(values, Mapping):
    raise ConfigError(f"{where} must be a dict; got {values!r}.")
  unknown = sorted(set(values) - set(defaults))
  if unknown:
    raise ConfigError(f"{where}: unknown key(s) {unknown}; its keys: {', '.join(defaults)}.")
  missing = [key for key, default in defaults.items() if default is None and key not in values]
  if missing:
    raise ConfigError(f"{where} needs {', '.join(missing)}.")
  return {**defaults, **values}


def _row_spec(values: Any, paper: str, where: str) -> RowSpec:
  row = _read(values, ROW, where)
  if row["table"] and not paper:
    raise ConfigError(f"{where} names table {row['table']!r}, but the protocol names no paper.")
  number = paper_number(paper, row["table"], **row["match"]) if row["table"] else None
  return RowSpec(row["name"], dict(row["runs"]), number)


def _drops(drops: Any, rows: Sequence[RowSpec], where: str) -> dict[str, str]:
  """The quick protocol's left-out rows (name -> reason); a name that is no row, or no reason, is a ConfigError."""
  names = [row.name for row in rows]
  for name, reason in dict(drops).items():
    if name not in names or not reason:
      raise ConfigError(
        f"{where}: drop_rows names {name!r} with reason {reason!r}; name one of the rows "
        f"({', '.join(names)}) and say, as measured, why the quick protocol leaves it out."
      )
  return dict(drops)


def load_protocol(config_path: str) -> Protocol:
  """The protocol of the config file at `config_path`, every field and paper entry checked."""
  module = config_file.load_module(config_path)
  if not hasattr(module, "get_protocol"):
    raise ConfigError(f"{config_path} defines no get_protocol(); see research/analysis/reproduction.py.")
  where = f"{config_path}: get_protocol()"
  values = _read(module.get_protocol(), PROTOCOL, where)
  if values["at"] not in AT:
    raise ConfigError(f"{where}: at={values['at']!r}; choose one of {', '.join(AT)}.")
  if not values["rows"]:
    raise ConfigError(f"{where} lists no rows.")
  rows = tuple(_row_spec(row, values["paper"], f"{where}, rows[{i}]") for i, row in enumerate(values["rows"]))
  quick = _read(values["quick"], QUICK, f"{where}, quick")
  overrides = spec.sweep_overrides(module, config_path, values["sweep"])
  seeds = tuple(dict.fromkeys(run[SEED] for run in overrides if SEED in run))
  data = config_file.from_module(module, config_path, "").data
  return Protocol(
    config_path,
    values["sweep"],
    values["metric"],
    values["at"],
    float(values["scale"]),
    values["label"] or values["metric"],
    rows,
    quick["config_arg"],
    dict(quick["runs"]),
    _drops(quick["drop_rows"], rows, f"{where}, quick"),
    int(values["parallel"]),
    seeds,
    "manual_dir" in data,
  )


def _allowed(value: Any) -> list[Any]:
  return list(value) if isinstance(value, (list, tuple)) else [value]


def matches(run: spec.Run, selector: Mapping[str, Any]) -> bool:
  """Whether each key of `selector` has one of its allowed values in the run's overrides."""
  return all(key in run.overrides and run.overrides[key] in _allowed(value) for key, value in selector.items())


def _check_selector(selector: Mapping[str, Any], sweep: spec.Sweep, what: str) -> None:
  keys = {key for run in sweep.runs for key in run.overrides}
  unknown = sorted(set(selector) - keys)
  if unknown:
    raise ConfigError(
      f"{what} selects runs by {unknown}, which no run of sweep {sweep.name!r} sets "
      f"(its override keys: {', '.join(sorted(keys))})."
    )


def group_runs(rows: Sequence[RowSpec], runs: Sequence[spec.Run]) -> tuple[tuple[RowSpec, tuple[spec.Run, ...]], ...]:
  """Each row with its runs; a run in no row, or in more than one, is a ConfigError."""
  for run in runs:
    owners = [row.name for row in rows if matches(run, row.runs)]
    if len(owners) != 1:
      raise ConfigError(
        f"Run {run.name!r} belongs to {len(owners)} rows of the protocol ({owners}); "
        "each run must belong to exactly one."
      )
  return tuple((row, tuple(r for r in runs if matches(r, row.runs))) for row in rows)


def first_seeds(protocol: Protocol, runs: Sequence[spec.Run], count: int) -> list[spec.Run]:
  """The runs of the protocol's first `count` seeds."""
  if count < 1:
    raise ConfigError(f"--seeds={count}; use at least 1 of the protocol's {len(protocol.seeds)} seeds.")
  chosen = protocol.seeds[:count]
  return [r for r in runs if r.overrides[SEED] in chosen]


def make_plan(protocol: Protocol, *, quick: bool, seeds: int | None, out: str, settings: Mapping[str, Any]) -> Plan:
  """The sweep of the protocol (or its quick variant) in OUT/paper (OUT/quick), and the runs of its table."""
  if quick and seeds is not None:
    raise ConfigError(f"--seeds is for the paper protocol; --quick runs those with {protocol.quick_runs}.")
  config_arg = protocol.quick_arg if quick else ""
  directory = os.path.join(out, "quick" if quick else "paper")
  sweep = spec.expand(protocol.config_path, config_arg, protocol.sweep, directory, settings)
  for row in protocol.rows:
    _check_selector(row.runs, sweep, f"Row {row.name!r} of the protocol")
  _check_selector(protocol.quick_runs, sweep, "The quick protocol")
  rows, dropped = protocol.rows, {}
  if quick:
    rows = tuple(row for row in protocol.rows if row.name not in protocol.quick_drops)
    dropped = protocol.quick_drops
    kept = [r for r in sweep.runs if matches(r, protocol.quick_runs) and any(matches(r, row.runs) for row in rows)]
    sweep = dataclasses.replace(sweep, runs=tuple(kept))
    runs, description = sweep.runs, f"quick: config argument `{config_arg}`, {len(sweep.runs)} run(s)"
  elif seeds is not None:
    runs = tuple(first_seeds(protocol, sweep.runs, seeds))
    description = f"paper protocol, its first {min(seeds, len(protocol.seeds))} seed(s): {len(runs)} run(s)"
  else:
    runs, description = sweep.runs, f"paper protocol: {len(sweep.runs)} run(s)"
  if not runs:
    raise ConfigError(f"The {'quick' if quick else 'paper'} protocol of {protocol.config_path} selects no run.")
  return Plan(sweep, tuple(runs), group_runs(rows, runs), description, dropped)


def _metric(protocol: Protocol, final: Mapping[str, Any], workdir: str) -> float:
  """The protocol's metric in final.json, scaled."""
  block = final.get(protocol.at)
  if not block:
    raise ConfigError(
      f"{workdir}/final.json has no {protocol.at!r} metrics (a run that keeps no best checkpoint "
      "has none at the best-validation step); set the protocol's `at` to what the runs report."
    )
  if protocol.metric not in block:
    raise ConfigError(
      f"{workdir}/final.json has no {protocol.metric!r} in {protocol.at!r}; it has: {', '.join(sorted(block))}."
    )
  return protocol.scale * float(block[protocol.metric])


def measure(protocol: Protocol, plan: Plan) -> list[Row]:
  """Each row's values over its complete runs, and its diverged runs (read from the runs' final.json)."""
  rows = []
  for row, runs in plan.groups:
    measured = Row(row.name, protocol.label, [], row.paper)
    for run in runs:
      workdir = plan.sweep.workdir(run)
      final = rundir.read_final(workdir)
      if rundir.final_status(final) == rundir.DIVERGED:
        measured.diverged.append(run.name)
      else:
        measured.values.append(_metric(protocol, final, workdir))
    rows.append(measured)
  return rows


def _number(value: float | None, spread: float | None) -> str:
  return "–" if value is None else f"{value:.3f} ± {spread:.3f}"


def markdown_table(rows: Sequence[Row]) -> str:
  lines = [
    "| model | metric | measured (mean ± std) | n | paper | within paper spread |",
    "|---|---|---|---|---|---|",
  ]
  for r in rows:
    paper = _number(r.paper.mean, r.paper.std) if r.paper else "not reported"
    within = {None: "–", True: "yes", False: "no"}[r.within_paper_spread]
    count = f"{len(r.values)} (+{len(r.diverged)} diverged)" if r.diverged else str(len(r.values))
    lines.append(f"| {r.name} | {r.metric} | {_number(r.mean, r.std)} | {count} | {paper} | {within} |")
  return "\n".join(lines)


def _diverged_note(rows: Sequence[Row]) -> str:
  named = "; ".join(f"{r.name}: {', '.join(r.diverged)}" for r in rows if r.diverged)
  return f"Diverged, not averaged in: {named}." if named else ""


def _dropped_note(dropped: Mapping[str, str]) -> str:
  return "".join(f"Not in the quick protocol: {name}. {reason}\n" for name, reason in dropped.items()).strip()


def write_results(
  out_dir: str, experiment: str, quick: bool, rows: Sequence[Row], header: str, dropped: Mapping[str, str] | None = None
) -> str:
  """Writes results.json and results.md (atomically); returns the markdown. `dropped`: rows the quick
  protocol leaves out, with why (results.json's "dropped_rows")."""
  dropped = dropped or {}
  rundir.write_json(
    os.path.join(out_dir, "results.json"),
    {
      "experiment": experiment,
      "quick": quick,
      "rows": [r.to_json() for r in rows],
      "dropped_rows": [{"name": name, "reason": reason} for name, reason in dropped.items()],
    },
  )
  sources = sorted({r.paper.source for r in rows if r.paper})
  paper = "Paper numbers: " + "; ".join(sources) + "." if sources else ""
  notes = [header, markdown_table(rows), _diverged_note(rows), _dropped_note(dropped), paper]
  text = "\n\n".join(filter(None, notes)) + "\n"
  rundir.write_text(os.path.join(out_dir, "results.md"), text)
  return text


def _header(protocol: Protocol, plan: Plan) -> str:
  finals = [rundir.read_final(plan.sweep.workdir(run)) or {} for run in plan.runs]
  wall = sum(final.get("wall_time_s", 0.0) for final in finals)
  scale = f" × {protocol.scale:g}" if protocol.scale != 1 else ""
  return (
    f"# {protocol.experiment} ({plan.description})\n\n"
    f"{protocol.metric}{scale} at {AT[protocol.at]} of each run of sweep `{plan.sweep.name or 'default'}` "
    f"in {plan.sweep.directory}; the runs trained for {format_duration(wall)} in all."
  )


def parse_args(protocol: Protocol, argv: Sequence[str]) -> argparse.Namespace:
  parser = errors.ArgumentParser(
    prog=f"python -m experiments.{protocol.experiment}.reproduce",
    description=f"Reproduce the paper table of {protocol.experiment}: the protocol of {protocol.config_path}.",
  )
  parser.add_argument(
    "--quick",
    action="store_true",
    help=f"the reduced protocol: config argument {protocol.quick_arg!r}, runs {protocol.quick_runs}",
  )
  parser.add_argument(
    "--out",
    default=os.path.join("runs", protocol.experiment, "reproduce"),
    help="results.md, results.json, and the runs in OUT/paper (OUT/quick)",
  )
  parser.add_argument("--parallel", type=int, default=protocol.parallel, help="runs at a time")
  if protocol.seeds:
    parser.add_argument(
      "--seeds",
      type=int,
      default=None,
      help=f"the first N of the protocol's {len(protocol.seeds)} seeds (paper protocol only)",
    )
  parser.add_argument("--data_dir", default="", help="TFDS data dir (default $TFDS_DATA_DIR or ~/tensorflow_datasets)")
  if protocol.needs_manual_dir:
    parser.add_argument(
      "--manual_dir", default="", help="folder holding the released files (default <data_dir>/downloads/manual)"
    )
  return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> dict[str, str]:
  """Where the runs find their data: config values of every run, given only when the flags are."""
  flags = {"data.data_dir": args.data_dir, "data.manual_dir": getattr(args, "manual_dir", "")}
  return {key: value for key, value in flags.items() if value}


def _relative(path: str) -> str:
  """`path` relative to the working directory when it lies below it (so sweep.json stays portable)."""
  relative = os.path.relpath(os.path.abspath(path))
  return os.path.abspath(path) if relative.startswith(os.pardir) else relative


def reproduce(config_path: str, argv: Sequence[str]) -> int:
  """Runs the protocol of `config_path` as `argv` asks; returns the exit code (0, 1: a run failed, 3: one diverged)."""
  protocol = load_protocol(_relative(config_path))
  args = parse_args(protocol, argv)
  local.check_parallel(args.parallel)
  plan = make_plan(
    protocol, quick=args.quick, seeds=getattr(args, "seeds", None), out=args.out, settings=_settings(args)
  )
  with spec.owned(plan.sweep):
    outcome = local.run_local(plan.sweep, parallel=args.parallel, runs=plan.runs)
    if outcome.failed:
      print(f"{local.failures(outcome)}. No table: rerun the same command to resume them.")
      return local.FAILED_EXIT
    rows = measure(protocol, plan)
    text = write_results(args.out, protocol.experiment, args.quick, rows, _header(protocol, plan), plan.dropped)
  print("\n" + text, flush=True)
  return local.DIVERGED_EXIT if any(r.diverged for r in rows) else 0


def main(config_path: str, argv: Sequence[str] | None = None) -> int:
  """The command line of an experiment's reproduce.py (argv without the program name)."""
  return errors.main_with_user_errors(lambda args: reproduce(config_path, args), sys.argv[1:] if argv is None else argv)
