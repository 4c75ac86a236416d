"""Graph datasets as padded `GraphBatch` pipelines."""

from __future__ import annotations

import functools
import os

import ml_collections
import tensorflow_datasets as tfds

from research.data import csl, register_pipeline
from research.data.pipeline import Pipeline
from research.graph.batch import pad_graphs


def default_data_dir(config: ml_collections.ConfigDict) -> str:
  return config.data_dir or os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))


@register_pipeline("csl")
def csl_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """CSL fold `config.fold` (0..4): train/validation/test = 90/30/30 graphs."""
  if not 0 <= config.fold < csl.NUM_FOLDS:
    raise ValueError(f"config.data.fold={config.fold} must be in [0, {csl.NUM_FOLDS}).")
  data_dir = default_data_dir(config)
  csl.prepare(data_dir)
  roles = {"train": "train", "validation": "val", "test": "test"}
  sources = {role: tfds.data_source("csl", split=f"{part}_fold{config.fold}", data_dir=data_dir) for role, part in roles.items()}
  return Pipeline(
      sources,
      functools.partial(pad_graphs, max_nodes=config.max_nodes, max_edges=config.max_edges),
      batch_size=config.batch_size,
      eval_batch_size=config.eval_batch_size,
      train_rows=train_rows,
      eval_rows=eval_rows,
      seed=seed,
      num_threads=config.num_threads,
      prefetch=config.prefetch,
      cache=config.cache,
  )
