"""Datasets (TFDS builders, one folder each) and the input pipelines that config.data.name names.

Each dataset is registered once (research/data/registry.py) with how it is
prepared, its variants, its config checks and its pipeline; the three entry
points below read that registry:

  check_config(config.data, num_batch_shards)  every value that can be checked without data
  prepare_dataset(config.data)                 builds the dataset once (sweeps, before their workers start)
  build_pipeline(config.data, ...)             checks, prepares and reads it
"""

from __future__ import annotations

import ml_collections

from research.data import checks, registry
from research.data.pipeline import Pipeline


def check_config(config: ml_collections.ConfigDict, num_batch_shards: int) -> None:
  """Raises a ConfigError naming `config.data.<key>=<value>` for a value that cannot work; reads no data.

  `config` is a config.data; `num_batch_shards` is the number of shards each global batch is split into
  (the least common multiple of the data-parallel size and the process count): graph datasets need
  whole packs of config.graphs_per_pack graphs on each.
  """
  if num_batch_shards < 1:
    raise ValueError(f"num_batch_shards={num_batch_shards} must be >= 1.")
  dataset = registry.get(config.name)
  checks.check_common(config)
  _check_variant(config, dataset)
  if dataset.check is not None:
    dataset.check(config, num_batch_shards)


def _check_variant(config: ml_collections.ConfigDict, dataset: registry.Dataset) -> None:
  if dataset.variants:
    checks.one_of(config, "variant", dataset.variants, f"a variant of {dataset.name}")


def prepare_dataset(config: ml_collections.ConfigDict) -> None:
  """Builds the dataset that `config` (a config.data) names, once, without making a pipeline."""
  dataset = registry.get(config.name)
  _check_variant(config, dataset)
  dataset.prepare(config)


def build_pipeline(
  config: ml_collections.ConfigDict, *, seed: int, train_rows: tuple[int, int], eval_rows: tuple[int, int]
) -> Pipeline:
  """The pipeline of the dataset `config.name`, feeding this process's rows of each global batch.

  Runs check_config's checks for one batch shard (the trainer checks its mesh's shards before) and
  prepares the dataset first.
  """
  check_config(config, num_batch_shards=1)
  dataset = registry.get(config.name)
  dataset.prepare(config)
  return dataset.pipeline(config, seed=seed, train_rows=train_rows, eval_rows=eval_rows)
