"""A sweep expanded into runs: names, workdirs, commands, and the sweep directory's `sweep.json`.

A config file's `get_sweep(name)` returns one override dict per run, keyed by
dotted config paths (configs/sweeps.py builds them). `expand` checks every
override against the config (`config.py:ARG`) before anything runs and names
each run after what it changes (`pe=rwse,seed=3`). A sweep directory holds

    sweep.json            the config, its argument, the sweep name and the runs (name, workdir, overrides)
    runs/<run name>/      each run's workdir (the run directory contract of DESIGN.md)

and belongs to one (config, argument, sweep): reusing it for another fails.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import os
import re
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import ml_collections

MANIFEST = "sweep.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=,+-]")


@dataclasses.dataclass(frozen=True)
class Run:
  """One run of a sweep: its name (also its folder under runs/) and the config values it changes."""

  name: str
  overrides: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Sweep:
  """Runs of one config (`config_path:config_arg`) under `directory`."""

  config_path: str
  config_arg: str
  name: str  # "" = the config's default sweep
  directory: str
  runs: tuple[Run, ...]
  configs: Mapping[str, ml_collections.ConfigDict] = dataclasses.field(default_factory=dict, compare=False, repr=False)

  @property
  def config_flag(self) -> str:
    return f"{self.config_path}:{self.config_arg}" if self.config_arg else self.config_path

  def workdir(self, run: Run) -> str:
    return os.path.join(self.directory, "runs", run.name)

  def run_args(self, run: Run) -> list[str]:
    """`python -m experiments.run` arguments of `run` (without the interpreter)."""
    overrides = [f"--config.{key}={format_value(value)}" for key, value in run.overrides.items()]
    return ["-m", "experiments.run", f"--config={self.config_flag}", f"--workdir={self.workdir(run)}", *overrides]

  def manifest(self) -> dict[str, Any]:
    return {
        "config": self.config_path,
        "config_arg": self.config_arg,
        "sweep": self.name,
        "runs": [{"name": r.name, "workdir": os.path.join("runs", r.name), "overrides": r.overrides}
                 for r in self.runs],
    }


def format_value(value: Any) -> str:
  """A value as `--config.key=VALUE` spells it (ml_collections parses it by the field's type)."""
  return value if isinstance(value, str) else repr(value)


def load_config_module(path: str) -> ModuleType:
  """The config file at `path` as a module (it imports configs/ and research/ from the working directory)."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"No config file at {path!r}; pass the path of an experiment's config.py.")
  name = "_sweep_config_" + re.sub(r"\W", "_", os.path.abspath(path))
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def apply_overrides(config: ml_collections.ConfigDict, overrides: Mapping[str, Any],
                    run: str) -> ml_collections.ConfigDict:
  """A locked copy of `config` with `overrides` set; a path the config lacks or a wrong type fails, naming both."""
  config = copy.deepcopy(config)
  config.lock()
  for key, value in overrides.items():
    parent, _, leaf = key.rpartition(".")
    node = config
    try:
      for part in filter(None, parent.split(".")):
        node = node[part]
      if leaf not in node:
        raise KeyError(leaf)
      node[leaf] = value
    except (KeyError, AttributeError) as e:
      raise KeyError(f"Sweep run {run!r} overrides {key!r}, which the config does not have "
                     f"(config keys at that level: {sorted(node.keys()) if hasattr(node, 'keys') else '-'}).") from e
    except TypeError as e:
      raise TypeError(f"Sweep run {run!r} sets {key}={value!r}: {e}") from e
  return config


def run_name(overrides: Mapping[str, Any]) -> str:
  """`pe=rwse,seed=3`: the last part of each changed path with its value, safe as a folder name."""
  leaves = [key.rpartition(".")[2] for key in overrides]
  parts = []
  for key, leaf in zip(overrides, leaves):
    label = leaf if leaves.count(leaf) == 1 else key
    parts.append(f"{label}={format_value(overrides[key])}")
  return _UNSAFE.sub("_", ",".join(parts)) or "default"


def default_directory(config_path: str, config_arg: str, sweep_name: str) -> str:
  """runs/<experiment>/sweeps/<sweep>[-<arg>], the experiment being the config's folder name."""
  experiment = os.path.basename(os.path.dirname(os.path.abspath(config_path))) or "default"
  folder = sweep_name or "default"
  if config_arg:
    folder += "-" + _UNSAFE.sub("_", config_arg.replace(",", "-"))
  return os.path.join("runs", experiment, "sweeps", folder)


def sweep_overrides(module: ModuleType, config_path: str, sweep_name: str) -> list[dict[str, Any]]:
  if not hasattr(module, "get_sweep"):
    raise ValueError(f"{config_path} defines no get_sweep(name); add one (see configs/sweeps.py).")
  runs = module.get_sweep(sweep_name)
  if not runs:
    raise ValueError(f"Sweep {sweep_name!r} of {config_path} has no runs.")
  return [dict(r) for r in runs]


def expand(config_path: str, config_arg: str = "", sweep_name: str = "", directory: str = "") -> Sweep:
  """The sweep `sweep_name` of `config_path:config_arg`, every run's config checked (nothing runs)."""
  module = load_config_module(config_path)
  base = module.get_config(config_arg)
  runs, configs = [], {}
  for overrides in sweep_overrides(module, config_path, sweep_name):
    run = Run(run_name(overrides), overrides)
    configs[run.name] = apply_overrides(base, overrides, run.name)
    runs.append(run)
  names = [r.name for r in runs]
  repeated = sorted({n for n in names if names.count(n) > 1})
  if repeated:
    raise ValueError(f"Sweep {sweep_name!r} of {config_path} lists the same run more than once: {repeated}.")
  directory = directory or default_directory(config_path, config_arg, sweep_name)
  return Sweep(config_path, config_arg, sweep_name, directory, tuple(runs), configs)


def claim_directory(sweep: Sweep) -> None:
  """Writes sweep.json, or checks that the one there describes this same sweep."""
  path = os.path.join(sweep.directory, MANIFEST)
  manifest = sweep.manifest()
  if os.path.exists(path):
    with open(path) as f:
      existing = json.load(f)
    for key, label in (("config", "config"), ("config_arg", "config argument"), ("sweep", "sweep name")):
      if existing.get(key) != manifest[key]:
        raise ValueError(
            f"{sweep.directory} holds a sweep of another {label}: {existing.get(key)!r}, not {manifest[key]!r}. "
            "Pass another --sweep_dir, or remove that directory.")
    if existing["runs"] != json.loads(json.dumps(manifest["runs"])):
      raise ValueError(f"{sweep.directory} holds sweep {sweep.name!r} with other runs than the config lists now; "
                       "pass another --sweep_dir for the changed sweep.")
    return
  os.makedirs(sweep.directory, exist_ok=True)
  with open(path, "w") as f:
    json.dump(manifest, f, indent=2)


def is_finished(workdir: str) -> bool:
  """A run is finished once the trainer wrote its final.json."""
  return os.path.exists(os.path.join(workdir, "final.json"))


def pending_runs(sweep: Sweep) -> Sequence[Run]:
  return [r for r in sweep.runs if not is_finished(sweep.workdir(r))]
