"""The datasets that config.data.name names, each registered once with everything the trainer needs of it."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

import ml_collections

from research.data.pipeline import Pipeline
from research.errors import ConfigError

PipelineFactory = Callable[..., Pipeline]
Prepare = Callable[[ml_collections.ConfigDict], None]
Check = Callable[[ml_collections.ConfigDict, int], None]

# The modules that register the datasets, imported at the first lookup.
_MODULES = ("research.data.graph_datasets", "research.data.layout_datasets", "research.data.diagram_graphs")


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Dataset `name`: how it is built once, checked and read; every function takes a config.data.

  prepare(config) builds it under the data directory unless it is there.
  variants: the values config.variant may take (empty: the dataset has none).
  check(config, num_batch_shards) raises a ConfigError for a value that cannot work, before any data is read
  (None: nothing beyond the checks of every dataset, research/data/checks.py `check_common`).
  pipeline(config, *, seed, train_rows, eval_rows) reads the prepared dataset as a Pipeline.
  """

  name: str
  prepare: Prepare
  pipeline: PipelineFactory
  variants: tuple[str, ...] = ()
  check: Check | None = None


_DATASETS: dict[str, Dataset] = {}


def register(dataset: Dataset) -> None:
  if dataset.name in _DATASETS:
    raise ValueError(f"Two datasets are registered as {dataset.name!r}.")
  _DATASETS[dataset.name] = dataset


def _load() -> None:
  for module in _MODULES:
    importlib.import_module(module)


def names() -> list[str]:
  """Every registered dataset name, sorted."""
  _load()
  return sorted(_DATASETS)


def get(name: str) -> Dataset:
  """The dataset registered as `name`; a ConfigError listing the known names if there is none."""
  _load()
  if name not in _DATASETS:
    raise ConfigError(f"config.data.name={name!r} is not a dataset; use one of {names()}.")
  return _DATASETS[name]
