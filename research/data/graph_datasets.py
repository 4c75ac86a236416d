"""Graph datasets (CSL, PATTERN, CLUSTER, ZINC) as padded `GraphBatch` pipelines, registered by name."""

from __future__ import annotations

import functools
import logging

import ml_collections

from research.data import checks, csl, registry, sbm, zinc
from research.data.pipeline import Pipeline
from research.data.prepare import default_data_dir, from_manual_dir
from research.data.sources import prepared_splits
from research.graph.batch import pad_graphs

log = logging.getLogger(__name__)
_ROLES = {"train": "train", "validation": "val", "test": "test"}  # pipeline role -> the datasets' split


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
  eval_pad = functools.partial(pad, max_edges=config.get("eval_max_edges", config.max_edges))
  return Pipeline.from_config(
    config,
    sources,
    functools.partial(pad, max_edges=config.max_edges),
    seed=seed,
    train_rows=train_rows,
    eval_rows=eval_rows,
    eval_collate=eval_pad,
  )


def csl_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """CSL fold `config.fold` (0..4): train/validation/test = 90/30/30 graphs."""
  splits = {role: f"{part}_fold{config.fold}" for role, part in _ROLES.items()}
  sources = prepared_splits("csl", splits, default_data_dir(config))
  return padded_graph_pipeline(config, sources, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


def _check_csl(config: ml_collections.ConfigDict, num_batch_shards: int) -> None:
  checks.check_graph_budgets(config, num_batch_shards)
  checks.between(config, "fold", 0, csl.NUM_FOLDS - 1, f" (CSL's {csl.NUM_FOLDS} folds)")


def sbm_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """PATTERN or CLUSTER (`config.name`; `config.variant`: "full", or "tiny" for smoke runs), node labels in
  `node_labels`."""
  sources = prepared_splits(f"{config.name}/{config.variant}", _ROLES, default_data_dir(config))
  return padded_graph_pipeline(config, sources, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


def zinc_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """ZINC `config.variant` ("subset": 10k/1k/1k, "full": 220k/24k/5k, "subset_paths"; "tiny", "tiny_paths":
  the shipped 20-molecule fixture, for smoke runs)."""
  if config.variant in zinc.TINY_CONFIGS:
    counts = " / ".join(str(n) for n in zinc.NUM_GRAPHS["tiny"].values())
    log.info(
      "ZINC variant %r: reading the fixture shipped in %s (%s molecules in ZINC's released format), "
      "not ZINC; for ZINC itself use variant 'subset' or 'full'.",
      config.variant,
      zinc.TINY_DIR,
      counts,
    )
  sources = prepared_splits(f"zinc/{config.variant}", _ROLES, default_data_dir(config))
  return padded_graph_pipeline(config, sources, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


registry.register(
  registry.Dataset(
    "csl",
    prepare=lambda config: csl.prepare(default_data_dir(config)),
    pipeline=csl_pipeline,
    check=_check_csl,
  )
)
for _name in sbm.NAMES:
  registry.register(
    registry.Dataset(
      _name,
      prepare=lambda config: sbm.prepare(default_data_dir(config), config.name, config.variant),
      pipeline=sbm_pipeline,
      variants=sbm.CONFIGS,
      check=checks.check_graph_budgets,
    )
  )
registry.register(
  registry.Dataset(
    "zinc",
    prepare=from_manual_dir(zinc.prepare),
    pipeline=zinc_pipeline,
    variants=zinc.CONFIGS,
    check=checks.check_graph_budgets,
  )
)
