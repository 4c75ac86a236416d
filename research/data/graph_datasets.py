"""Graph datasets as padded `GraphBatch` pipelines."""

from __future__ import annotations

import functools

import ml_collections
import tensorflow_datasets as tfds

from research.data import csl, register_pipeline, sbm, zinc
from research.data.pipeline import Pipeline
from research.data.prepare import default_data_dir
from research.graph.batch import pad_graphs


def padded_graph_pipeline(
    config: ml_collections.ConfigDict, sources: dict, *, seed: int, train_rows, eval_rows
) -> Pipeline:
  """Batches of graphs padded to config.max_nodes per graph and config.max_edges per pack.

  Packs hold config.graphs_per_pack graphs (absent: 1) that share one edge list
  (see research/graph/batch.py). Evaluation batches use config.eval_max_edges
  (absent: max_edges): they are read in order, so a budget that random training
  packs never exceed can be too small for consecutive graphs of similar size.
  config.max_expander_edges (absent or 0: none) packs the records' expander
  edges (Exphormer) into a second edge list per pack, in training and evaluation.
  """
  pad = functools.partial(
      pad_graphs,
      max_nodes=config.max_nodes,
      graphs_per_pack=config.get("graphs_per_pack", 1),
      max_expander_edges=config.get("max_expander_edges", 0) or None,
  )
  return Pipeline.from_config(
      config, sources, functools.partial(pad, max_edges=config.max_edges), seed=seed, train_rows=train_rows,
      eval_rows=eval_rows, eval_collate=functools.partial(pad, max_edges=config.get("eval_max_edges", config.max_edges)),
  )


@register_pipeline("csl")
def csl_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """CSL fold `config.fold` (0..4): train/validation/test = 90/30/30 graphs."""
  if not 0 <= config.fold < csl.NUM_FOLDS:
    raise ValueError(f"config.data.fold={config.fold} must be in [0, {csl.NUM_FOLDS}).")
  data_dir = default_data_dir(config)
  csl.prepare(data_dir)
  roles = {"train": "train", "validation": "val", "test": "test"}
  sources = {role: tfds.data_source("csl", split=f"{part}_fold{config.fold}", data_dir=data_dir) for role, part in roles.items()}
  return padded_graph_pipeline(config, sources, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


def _sbm_pipeline(name: str, config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """PATTERN or CLUSTER (`config.variant`: "full", or "tiny" for smoke runs), node labels in `node_labels`."""
  data_dir = default_data_dir(config)
  sbm.prepare(data_dir, name, config.variant)
  roles = {"train": "train", "validation": "val", "test": "test"}
  sources = {role: tfds.data_source(f"{name}/{config.variant}", split=part, data_dir=data_dir) for role, part in roles.items()}
  return padded_graph_pipeline(config, sources, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


register_pipeline("pattern")(functools.partial(_sbm_pipeline, "pattern"))
register_pipeline("cluster")(functools.partial(_sbm_pipeline, "cluster"))


@register_pipeline("zinc")
def zinc_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """ZINC `config.variant` ("subset": 10k/1k/1k, "full": 220k/24k/5k) from the files in
  `config.manual_dir` (default: <data_dir>/downloads/manual)."""
  data_dir = default_data_dir(config)
  zinc.prepare(data_dir, config.variant, manual_dir=config.get("manual_dir") or None)
  roles = {"train": "train", "validation": "val", "test": "test"}
  sources = {role: tfds.data_source(f"zinc/{config.variant}", split=part, data_dir=data_dir) for role, part in roles.items()}
  return padded_graph_pipeline(config, sources, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


def prepare_dataset(config: ml_collections.ConfigDict) -> None:
  """Builds the dataset `config` (a config.data) names, once, without making a pipeline.

  Reproduce scripts call it before their worker processes start, so that the
  workers only read it.
  """
  data_dir = default_data_dir(config)
  if config.name == "csl":
    csl.prepare(data_dir)
  elif config.name in sbm.NAMES:
    sbm.prepare(data_dir, config.name, config.variant)
  elif config.name == "zinc":
    zinc.prepare(data_dir, config.variant, manual_dir=config.get("manual_dir") or None)
  else:
    raise ValueError(f"No dataset named config.data.name={config.name!r} to prepare; known: csl, {', '.join(sbm.NAMES)}, zinc.")
