"""A sweep expanded into runs: names, workdirs, commands, and the sweep directory's `sweep.json`.

A config file's `get_sweep(name)` returns one override dict per run, keyed by
dotted config paths (configs/sweeps.py builds them). A key `arg:<name>` sets the
config's argument `<name>` instead (`config.py:<name>=<value>`), for what only
`get_config` can change, such as which model a config builds. `expand` checks
every override against the config (`config.py:ARG`) before anything runs and
names each run after what it changes (`pe=rwse,seed=3`). A sweep directory holds

    sweep.json            the config, its argument, the sweep name and the runs (name, workdir, overrides)
    runs/<run name>/      each run's workdir (the run directory contract of DESIGN.md)
    logs/<run name>.log   each run's output, when the local launcher ran it

and belongs to one (config, argument, sweep): reusing it for another fails. One
launcher at a time owns it (`owned`). A run counts as finished only when its
final.json parses and says complete (research.rundir); a diverged run is done too,
and never run again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

import ml_collections

from research import config_file, rundir
from research.errors import ConfigError, WorkdirError

MANIFEST = "sweep.json"
ARG = "arg:"  # override keys `arg:<name>` set the config argument <name>
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=,+-]")


@dataclasses.dataclass(frozen=True)
class Run:
  """One run of a sweep: its name (also its folder under runs/) and the config values it changes."""

  name: str
  overrides: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Sweep:
  """Runs of one config (`config_path:config_arg`) under `directory`.

  `settings` are config values every run gets that say where things are (`data.data_dir`), not what a
  run computes: they are in the runs' commands and configs, not in their names or in sweep.json.
  """

  config_path: str
  config_arg: str
  name: str  # "" = the config's default sweep
  directory: str
  runs: tuple[Run, ...]
  configs: Mapping[str, ml_collections.ConfigDict] = dataclasses.field(default_factory=dict, compare=False, repr=False)
  settings: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

  @property
  def config_flag(self) -> str:
    return flag(self.config_path, self.config_arg)

  def workdir(self, run: Run) -> str:
    return os.path.join(self.directory, "runs", run.name)

  def run_args(self, run: Run) -> list[str]:
    """`python -m experiments.run` arguments of `run` (without the interpreter)."""
    args, values = split_overrides(run.overrides)
    overrides = [f"--config.{key}={format_value(value)}" for key, value in {**values, **self.settings}.items()]
    config = flag(self.config_path, run_arg(self.config_arg, args))
    return ["-m", "experiments.run", f"--config={config}", f"--workdir={self.workdir(run)}", *overrides]

  def manifest(self) -> dict[str, Any]:
    return {
      "config": self.config_path,
      "config_arg": self.config_arg,
      "sweep": self.name,
      "runs": [{"name": r.name, "workdir": os.path.join("runs", r.name), "overrides": r.overrides} for r in self.runs],
    }


def flag(config_path: str, config_arg: str) -> str:
  """`PATH:ARG` (`PATH` alone without an argument), as `--config` takes it."""
  return f"{config_path}:{config_arg}" if config_arg else config_path


def format_value(value: Any) -> str:
  """A value as `--config.key=VALUE` (or a config argument) spells it: strings as they are, others as literals."""
  return value if isinstance(value, str) else repr(value)


def split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
  """(config arguments, config values) of a run's overrides: `arg:model` -> argument `model`."""
  args = {key.removeprefix(ARG): value for key, value in overrides.items() if key.startswith(ARG)}
  values = {key: value for key, value in overrides.items() if not key.startswith(ARG)}
  return args, values


def run_arg(config_arg: str, args: Mapping[str, Any]) -> str:
  """`config_arg` with `args` added (`smoke` + {model: gt} -> `smoke,model=gt`); a later key wins."""
  return ",".join([*filter(None, [config_arg]), *(f"{key}={format_value(value)}" for key, value in args.items())])


def _label(key: str) -> str:
  return key.removeprefix(ARG).rpartition(".")[2]


def run_name(overrides: Mapping[str, Any]) -> str:
  """`pe=rwse,seed=3`: the last part of each changed path with its value, safe as a folder name."""
  leaves = [_label(key) for key in overrides]
  parts = []
  for key, leaf in zip(overrides, leaves):
    label = leaf if leaves.count(leaf) == 1 else key
    parts.append(f"{label}={format_value(overrides[key])}")
  return _UNSAFE.sub("_", ",".join(parts)) or "default"


def default_directory(config_path: str, config_arg: str, sweep_name: str) -> str:
  """runs/<experiment>/sweeps/<sweep>[-<arg>], the experiment being the config's folder name."""
  folder = sweep_name or "default"
  if config_arg:
    folder += "-" + _UNSAFE.sub("_", config_arg.replace(",", "-"))
  return os.path.join("runs", experiment_name(config_path), "sweeps", folder)


def experiment_name(config_path: str) -> str:
  """The folder name of the config file (`benchmarking_gnns_csl`)."""
  return os.path.basename(os.path.dirname(os.path.abspath(config_path))) or "default"


def sweep_overrides(module: ModuleType, config_path: str, sweep_name: str) -> list[dict[str, Any]]:
  """The override dicts of `module.get_sweep(sweep_name)`; an unknown or empty sweep is a ConfigError."""
  if not hasattr(module, "get_sweep"):
    raise ConfigError(f"{config_path} defines no get_sweep(name); add one (see configs/sweeps.py).")
  try:
    runs = module.get_sweep(sweep_name)
  except ValueError as e:
    raise ConfigError(f"{config_path}: {e}") from e
  if not runs:
    raise ConfigError(f"Sweep {sweep_name!r} of {config_path} has no runs.")
  return [dict(r) for r in runs]


def expand(
  config_path: str,
  config_arg: str = "",
  sweep_name: str = "",
  directory: str = "",
  settings: Mapping[str, Any] | None = None,
) -> Sweep:
  """The sweep `sweep_name` of `config_path:config_arg`, every run's config checked (nothing runs)."""
  module = config_file.load_module(config_path)
  settings = dict(settings or {})
  runs, configs, bases = [], {}, {}
  for overrides in sweep_overrides(module, config_path, sweep_name):
    run = Run(run_name(overrides), overrides)
    args, values = split_overrides(overrides)
    arg = run_arg(config_arg, args)
    if arg not in bases:
      bases[arg] = config_file.from_module(module, config_path, arg)
    configs[run.name] = config_file.apply_overrides(bases[arg], {**values, **settings}, f"Sweep run {run.name!r}")
    runs.append(run)
  names = [r.name for r in runs]
  repeated = sorted({n for n in names if names.count(n) > 1})
  if repeated:
    raise ConfigError(f"Sweep {sweep_name!r} of {config_path} lists the same run more than once: {repeated}.")
  directory = directory or default_directory(config_path, config_arg, sweep_name)
  return Sweep(config_path, config_arg, sweep_name, directory, tuple(runs), configs, settings)


def _read_manifest(path: str) -> dict[str, Any]:
  try:
    with open(path) as f:
      return json.load(f)
  except json.JSONDecodeError as e:
    raise WorkdirError(
      f"{path} is not valid JSON ({e.msg}, line {e.lineno}); remove that sweep directory or pass another one."
    ) from e


def claim_directory(sweep: Sweep) -> None:
  """Writes sweep.json, or checks that the one there describes this same sweep."""
  path = os.path.join(sweep.directory, MANIFEST)
  manifest = sweep.manifest()
  if not os.path.exists(path):
    rundir.write_json(path, manifest)
    return
  existing = _read_manifest(path)
  for key, label in (("config", "config"), ("config_arg", "config argument"), ("sweep", "sweep name")):
    if existing.get(key) != manifest[key]:
      raise WorkdirError(
        f"{sweep.directory} holds a sweep of another {label}: {existing.get(key)!r}, not {manifest[key]!r}. "
        "Pass another directory, or remove that one."
      )
  if existing["runs"] != json.loads(json.dumps(manifest["runs"])):
    raise WorkdirError(
      f"{sweep.directory} holds sweep {sweep.name!r} with other runs than the config lists now; "
      "pass another directory for the changed sweep, or remove that one."
    )


@contextlib.contextmanager
def owned(sweep: Sweep) -> Iterator[None]:
  """Holds the sweep directory for the block (a second launcher on it fails at once, naming this one's pid
  and host) and claims it for this sweep (sweep.json)."""
  with rundir.hold(sweep.directory, "sweep launcher"):
    claim_directory(sweep)
    yield


def pending_runs(sweep: Sweep, runs: Sequence[Run] | None = None) -> list[Run]:
  """The runs (default: all of the sweep's) that have not reached an end: neither complete nor diverged."""
  return [r for r in (sweep.runs if runs is None else runs) if not rundir.is_done(sweep.workdir(r))]
