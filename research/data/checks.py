"""Checks of config.data values that need no data; each failure is a ConfigError naming config.data.<key>=<value>."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ml_collections

from research.errors import ConfigError


def _value(config: ml_collections.ConfigDict, key: str) -> Any:
  if key not in config:
    raise ConfigError(f"config.data.{key} is not set; the dataset config.data.name={config.name!r} needs it.")
  return config[key]


def at_least(config: ml_collections.ConfigDict, key: str, minimum: float, note: str = "") -> None:
  """config.<key> >= minimum; `note` (e.g. " (0: none)") follows the allowed range in the message."""
  value = _value(config, key)
  if not value >= minimum:
    raise ConfigError(f"config.data.{key}={value!r} is out of range; it must be >= {minimum}{note}.")


def between(config: ml_collections.ConfigDict, key: str, low: float, high: float, note: str = "") -> None:
  """low <= config.<key> <= high."""
  value = _value(config, key)
  if not low <= value <= high:
    raise ConfigError(f"config.data.{key}={value!r} is out of range; it must be in [{low}, {high}]{note}.")


def one_of(config: ml_collections.ConfigDict, key: str, choices: Sequence[str], what: str) -> None:
  """config.<key> is one of `choices`; `what` names them, e.g. "a ZINC variant"."""
  value = _value(config, key)
  if value not in choices:
    raise ConfigError(f"config.data.{key}={value!r} is not {what}; use one of {list(choices)}.")


def check_common(config: ml_collections.ConfigDict) -> None:
  """The batch and reader settings every pipeline reads (research/data/pipeline.py)."""
  at_least(config, "batch_size", 1)
  at_least(config, "eval_batch_size", 1)
  at_least(config, "num_threads", 0, " (0: read in the calling thread)")
  at_least(config, "prefetch", 1)


def check_packs_divisible(config: ml_collections.ConfigDict, key: str, num_batch_shards: int) -> None:
  """Edge lists of packs of graphs are sharded like the graphs: every batch shard must hold whole packs."""
  batch, graphs_per_pack = config[key], config.get("graphs_per_pack", 1)
  if batch % (num_batch_shards * graphs_per_pack):
    raise ConfigError(
      f"config.data.{key}={batch} does not split into whole packs of config.data.graphs_per_pack={graphs_per_pack} "
      f"graphs on each of the {num_batch_shards} batch shards; use a batch size that is a multiple of "
      f"{num_batch_shards * graphs_per_pack}."
    )


def check_graph_budgets(config: ml_collections.ConfigDict, num_batch_shards: int) -> None:
  """The padding budgets of graph pipelines (research/data/graph_datasets.py), and whole packs on each shard."""
  at_least(config, "max_nodes", 1)
  at_least(config, "max_edges", 1)
  optional = (("eval_max_edges", 1, ""), ("graphs_per_pack", 1, ""), ("max_expander_edges", 0, " (0: none)"))
  for key, minimum, note in optional:
    if key in config:
      at_least(config, key, minimum, note)
  if config.get("graphs_per_pack", 1) > 1:
    for key in ("batch_size", "eval_batch_size"):
      check_packs_divisible(config, key, num_batch_shards)
