"""Experiment configs read from files: `PATH[:ARG]` and overrides of dotted keys, every mistake named.

    config = load("experiments/gps_pattern/config.py:smoke", {"optimizer.learning_rate": "1e-3"})

`PATH` is a Python file defining `get_config(arg: str)`; `ARG` is its comma-separated `key=value`
argument. The config comes back locked: an override of a key it does not have, at any depth, or of
the wrong type is a ConfigError naming the key (with the nearest known keys), before any compute.
Override values given as strings are parsed by the type of the field they replace (str fields take
the text as it is; other fields a Python literal).
"""

from __future__ import annotations

import ast
import copy
import difflib
import glob
import importlib.util
import os
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import ml_collections

from research.errors import ConfigError


def split_flag(flag: str) -> tuple[str, str]:
  """`PATH[:ARG]` -> (PATH, ARG)."""
  path, _, arg = flag.partition(":")
  return path, arg


def _nearby_config_files(path: str) -> list[str]:
  experiment = os.path.basename(os.path.dirname(os.path.abspath(path)))
  candidates = glob.glob(os.path.join("experiments", "*", "config.py"))
  folders = {os.path.basename(os.path.dirname(c)): c for c in candidates}
  close = difflib.get_close_matches(experiment, folders, n=3, cutoff=0.6)
  return [folders[name] for name in close] or difflib.get_close_matches(path, candidates, n=3, cutoff=0.6)


def load_module(path: str) -> ModuleType:
  """The config file at `path` as a module; a missing file is a ConfigError with the nearest config files."""
  if not os.path.isfile(path):
    near = _nearby_config_files(path)
    hint = f" Did you mean {' or '.join(near)}?" if near else " Pass the path of an experiment's config.py."
    raise ConfigError(f"No config file at {path!r}.{hint}")
  name = "_config_" + re.sub(r"\W", "_", os.path.abspath(path))
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ConfigError(f"{path} defines no get_config(arg); is it an experiment's config.py?")
  return module


def from_module(module: ModuleType, path: str, arg: str) -> ml_collections.ConfigDict:
  """`module.get_config(arg)`, locked; a bad argument (ValueError/TypeError of get_config) is a ConfigError."""
  try:
    config = module.get_config(arg)
  except (ValueError, TypeError) as e:
    raise ConfigError(f"{path}:{arg}: {e}") from e
  config = copy.deepcopy(config)
  config.lock()
  return config


def load(flag: str, overrides: Mapping[str, Any] = ()) -> ml_collections.ConfigDict:
  """The locked config of `PATH[:ARG]` with `overrides` (dotted key -> value, or its text) applied
  as `--config.<key>=<value>` flags."""
  path, arg = split_flag(flag)
  config = from_module(load_module(path), path, arg)
  for key, value in dict(overrides).items():
    override(config, key, value, f"--config.{key}={value}")
  return config


def dotted_keys(config: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
  """Every key of `config` as a dotted path, nested dicts included (`optimizer`, `optimizer.learning_rate`)."""
  keys = []
  for key, value in config.items():
    keys.append(prefix + key)
    if isinstance(value, ml_collections.ConfigDict):
      keys.extend(dotted_keys(value, f"{prefix}{key}."))
  return keys


def _unknown_key(config: ml_collections.ConfigDict, key: str, what: str) -> ConfigError:
  near = difflib.get_close_matches(key, dotted_keys(config), n=3, cutoff=0.6)
  hint = f" Did you mean {' or '.join(near)}?" if near else ""
  parent = key.rpartition(".")[0]
  node = config
  for part in filter(None, parent.split(".")):
    node = node.get(part) if isinstance(node, ml_collections.ConfigDict) else None
  level = (
    f" Keys of config.{parent}: {', '.join(sorted(node))}."
    if parent and isinstance(node, ml_collections.ConfigDict)
    else ""
  )
  return ConfigError(f"{what}: the config has no key {key!r}.{hint}{level}")


def parse_text(text: str, current: Any) -> Any:
  """A value given as text, read as the type of the value it replaces."""
  if isinstance(current, str):
    return text
  if isinstance(current, bool):
    lowered = text.strip().lower()
    if lowered in ("true", "false", "1", "0"):
      return lowered in ("true", "1")
  try:
    return ast.literal_eval(text.strip())
  except (ValueError, SyntaxError):
    return text


def override(config: ml_collections.ConfigDict, key: str, value: Any, what: str = "override") -> None:
  """Sets `config.<key>` (dotted) to `value` (a string is parsed by the field's type), naming any mistake."""
  parent, _, leaf = key.rpartition(".")
  node = config
  for part in filter(None, parent.split(".")):
    if not isinstance(node, ml_collections.ConfigDict) or part not in node:
      raise _unknown_key(config, key, what)
    node = node[part]
  if not isinstance(node, ml_collections.ConfigDict) or leaf not in node:
    raise _unknown_key(config, key, what)
  current = node[leaf]
  if isinstance(value, str) and not isinstance(current, str):
    value = parse_text(value, current)
  if isinstance(current, ml_collections.ConfigDict) and not isinstance(value, Mapping):
    raise ConfigError(f"{what}: config.{key} is a group of keys ({', '.join(sorted(current))}); set one of them.")
  try:
    node[leaf] = value
  except (TypeError, ValueError) as e:
    kind = type(current).__name__
    raise ConfigError(f"{what}: config.{key}={value!r} must be of type {kind} (the config has {current!r}).") from e


def apply_overrides(
  config: ml_collections.ConfigDict, overrides: Mapping[str, Any], what: str = "override"
) -> ml_collections.ConfigDict:
  """A locked copy of `config` with every (dotted key -> value) override set; `what` names their source."""
  config = copy.deepcopy(config)
  config.lock()
  for key, value in dict(overrides).items():
    override(config, key, value, what)
  return config
