"""Synthetic diagrams as graphs: padded `GraphBatch` pipelines over the `synthetic_diagrams` dataset.

The graph view of research/data/synthetic_diagrams (layout_datasets.py gives
the layout view). Each diagram record becomes one graph record for
research.graph.batch.pad_graphs:

  num_nodes      n, the diagram's elements
  node_labels    int32 [n]      the element type, an id into generator.ELEMENT_TYPES (NUM_CLASSES):
                                the node-classification target
  node_features  float32 [n, 6] NODE_FEATURES, per element:
                   0 cx          box centre x / canvas width
                   1 cy          box centre y / canvas height
                   2 w           box width / canvas width
                   3 h           box height / canvas height
                   4 log_aspect  log(w / h) in canvas units (the shape's own aspect ratio)
                   5 log_text    log(1 + text length in characters)
                 The element type is not a feature: it is the label.
  senders, receivers  int32 [e]  directed edges, e = 2 m + 2 k, in this order:
                   the m connectors source -> target, the same m reversed,
                   the k containments parent -> child, the same k reversed
  edge_features  int32 [e, 1]   edge ids in [1, EDGE_VOCAB) (0, a padded edge, never occurs):
                   1 + 2 * connector_type + is_reverse   connectors (CONNECTOR_TYPES: ids 1..12)
                   CONTAINS = 13                          parent (lane, column, frame) -> child
                   CONTAINED_IN = 14                      child -> parent
                 The connector's arrow (connector_direction) is left out: the generator sets
                 it by connector type and family (a mind map's branches are plain lines, a
                 flowchart's arrows), except for UML associations, where it is a coin flip.
  rwse           float32 [n, R] random-walk return probabilities for 1..R steps
                 (research.graph.encodings.rwse), only when config.rwse_steps = R > 0

So a model recognises what kind of shape an element is from where it is, its
size, its text length and how it is connected. Everything is computed per
record when it is read (with config.cache, once for the whole dataset when
the pipeline is made). Cost, measured on 2 busy CPU cores: the 100 largest
diagrams of the full variant's training split (100 to 120 elements) take
0.07 ms each without RWSE and 1.2-1.4 ms with 16 RWSE steps (16 dense [n, n]
matrix products; about 40 ms for a batch of 32 such diagrams), an average
diagram (24 elements) 0.2 ms with RWSE; decoding a record takes 0.34 ms.
RWSE runs on one BLAS thread: with the default two, beside other work, the
largest diagrams took 40-75 ms each.

Diagrams with more than config.max_nodes elements are left out
(`layout_datasets.FilteredSource`). Packs of config.graphs_per_pack graphs
share config.max_edges edge slots (research/graph/batch.py); a pack over its
budget stops the run with an error naming config.data.max_edges.
Edges per diagram, full variant, training split (e = 2 m + 2 k):

  max_nodes   diagrams kept   nodes (mean)   edges: mean   std   max
  64          96.41 %         21.8           42.3          30.8  164
  100         99.91 %         23.7           44.9          34.7  198
  128         100 %           23.8           45.1          35.1  238
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import ml_collections
import numpy as np
import threadpoolctl

from research.data import checks, registry, synthetic_diagrams
from research.data.graph_datasets import padded_graph_pipeline
from research.data.layout_datasets import FilteredSource, layout_of, prepare_synthetic_diagrams
from research.data.pipeline import Pipeline, RandomAccessSource
from research.data.prepare import default_data_dir
from research.data.sources import prepared_splits
from research.data.synthetic_diagrams import builder, generator
from research.graph import encodings

NAME = "diagram_graphs"
NODE_FEATURES = ("cx", "cy", "w", "h", "log_aspect", "log_text")
NUM_CLASSES = len(generator.ELEMENT_TYPES)
CONTAINS = 1 + 2 * len(generator.CONNECTOR_TYPES)  # parent -> child
CONTAINED_IN = CONTAINS + 1  # child -> parent
EDGE_VOCAB = CONTAINED_IN + 1  # edge ids 1..CONTAINED_IN; 0 is never used


def node_features(record: Mapping[str, Any]) -> np.ndarray:
  """[n, 6] float32 NODE_FEATURES of a diagram record (see the module docstring)."""
  boxes = layout_of(record)["boxes"]  # normalised cx, cy, w, h
  width, height = (np.asarray(record["boxes"], np.float64)[:, k] for k in (2, 3))
  if np.any(width <= 0) or np.any(height <= 0):
    raise ValueError(
      f"Diagram {record.get('diagram_id', '?')} has an element of zero or negative width or height; "
      "the aspect ratio needs positive sizes."
    )
  aspect = np.log(width / height)
  text = np.log1p(np.asarray(record["text_length"], np.float64))
  return np.concatenate([boxes, aspect[:, None], text[:, None]], axis=1).astype(np.float32)


def edges(record: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """senders, receivers [e] and edge ids [e] of a diagram record: connectors and containment, both ways."""
  source = np.asarray(record["connector_source"], np.int32)
  target = np.asarray(record["connector_target"], np.int32)
  connector = 1 + 2 * np.asarray(record["connector_type"], np.int32)
  parent = np.asarray(record["parent"], np.int32)
  child = np.flatnonzero(parent >= 0).astype(np.int32)
  container = parent[child]
  senders = np.concatenate([source, target, container, child])
  receivers = np.concatenate([target, source, child, container])
  ids = np.concatenate(
    [connector, connector + 1, np.full(len(child), CONTAINS, np.int32), np.full(len(child), CONTAINED_IN, np.int32)]
  )
  return senders, receivers, ids


def graph_of(record: Mapping[str, Any], rwse_steps: int = 0) -> dict[str, np.ndarray]:
  """A diagram record -> a graph record for pad_graphs (with `rwse` [n, rwse_steps] when rwse_steps > 0)."""
  n = int(record["num_elements"])
  senders, receivers, ids = edges(record)
  graph = {
    "num_nodes": n,
    "senders": senders,
    "receivers": receivers,
    "edge_features": ids[:, None],
    "node_features": node_features(record),
    "node_labels": np.asarray(record["element_type"], np.int32),
  }
  if rwse_steps > 0:
    # One BLAS thread: multithreaded BLAS made these small matrix powers 30-50 times slower
    # beside a training step (the limit is process-wide; JAX has its own threads).
    with _blas().limit(limits=1, user_api="blas"):
      graph["rwse"] = encodings.rwse(senders, receivers, n, rwse_steps)
  return graph


@functools.cache
def _blas() -> threadpoolctl.ThreadpoolController:
  """The BLAS libraries numpy loaded, found once (a fresh `threadpool_limits` scans them at every call)."""
  return threadpoolctl.ThreadpoolController()


class GraphSource:
  """The diagrams of `source` as graph records (`graph_of`), converted when read (random access)."""

  def __init__(self, source: RandomAccessSource, rwse_steps: int):
    self.source = source
    self.rwse_steps = rwse_steps

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    return graph_of(self.source[index], self.rwse_steps)


def check_config(config: ml_collections.ConfigDict, num_batch_shards: int) -> None:
  """The graph budgets (whole packs on each of `num_batch_shards`) and config.rwse_steps >= 0."""
  checks.check_graph_budgets(config, num_batch_shards)
  checks.at_least(config, "rwse_steps", 0, " (0: no RWSE)")


def diagram_graphs_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """Padded batches of diagram graphs, node labels in `node_labels` (see the module docstring).

  Reads config.variant ("full" or "tiny"), max_nodes, rwse_steps, and the budgets and batch
  settings of graph_datasets' padded pipelines (graphs_per_pack, max_edges, eval_max_edges, ...).
  """
  roles = {split: split for split in builder.SPLIT_STREAMS}  # the dataset's split names are the pipeline's roles
  splits = prepared_splits(f"synthetic_diagrams/{config.variant}", roles, default_data_dir(config))
  sources = {
    role: GraphSource(FilteredSource(split, config.max_nodes), config.rwse_steps) for role, split in splits.items()
  }
  return padded_graph_pipeline(config, sources, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


registry.register(
  registry.Dataset(
    NAME,
    prepare=prepare_synthetic_diagrams,
    pipeline=diagram_graphs_pipeline,
    variants=synthetic_diagrams.CONFIGS,
    check=check_config,
  )
)
