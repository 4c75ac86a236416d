"""Padded dense graph batches with static shapes.

A batch holds B graphs, each padded to N nodes and E directed edges. Edges are
per-graph lists of node indices in [0, N); padded edges point at node 0 and are
switched off by `edge_mask`, padded nodes by `node_mask`. Shapes never depend on
the data, so a jitted step compiles once per run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import flax.struct
import jax
import numpy as np

Array = Any  # jax.Array or np.ndarray

# Per-graph record keys (numpy, unpadded) produced by dataset builders.
NODE_KEYS = ("node_features", "lap_eigvec", "rwse", "node_labels")  # leading dim: num_nodes
EDGE_KEYS = ("edge_features",)  # leading dim: num_edges
GRAPH_KEYS = ("lap_eigval",)  # no node/edge dim


@flax.struct.dataclass
class GraphBatch:
  """B graphs padded to N nodes and E edges.

  node_features: [B, N, F] float32 features, or int32 category ids
  node_mask:     [B, N] bool, True for real nodes
  senders:       [B, E] int32, source node of each directed edge
  receivers:     [B, E] int32, target node of each directed edge
  edge_mask:     [B, E] bool, True for real edges
  edge_features: [B, E, Fe] float32 features, or int32 category ids
  lap_eigvec:    [B, N, K] Laplacian eigenvectors (zero columns when a graph has < K+1 nodes)
  lap_eigval:    [B, K] matching eigenvalues (zero where absent)
  rwse:          [B, N, R] random-walk return probabilities for 1..R steps
  """

  node_features: Array
  node_mask: Array
  senders: Array
  receivers: Array
  edge_mask: Array
  edge_features: Array | None = None
  lap_eigvec: Array | None = None
  lap_eigval: Array | None = None
  rwse: Array | None = None

  @property
  def num_nodes(self) -> int:
    """N, the padded node budget per graph."""
    return self.node_mask.shape[1]

  @classmethod
  def from_batch(cls, batch: Mapping[str, Array]) -> GraphBatch:
    """Picks the graph fields out of a data batch (which also holds labels)."""
    names = [f.name for f in flax.struct.dataclasses.fields(cls)]
    return cls(**{k: batch[k] for k in names if k in batch})


def pad_graphs(
    records: Sequence[Mapping[str, np.ndarray]], max_nodes: int, max_edges: int
) -> dict[str, np.ndarray]:
  """Collates per-graph numpy records into one padded batch (a dict of arrays).

  Each record has `num_nodes`, `senders`, `receivers` and any of NODE_KEYS,
  EDGE_KEYS, GRAPH_KEYS; other keys (graph labels) are stacked as they are.
  Node and edge arrays keep their dtype (integer features are category ids)
  and are zero-padded.
  """
  b = len(records)
  out: dict[str, np.ndarray] = {
      "node_mask": np.zeros((b, max_nodes), bool),
      "senders": np.zeros((b, max_edges), np.int32),
      "receivers": np.zeros((b, max_edges), np.int32),
      "edge_mask": np.zeros((b, max_edges), bool),
  }
  for i, rec in enumerate(records):
    n, e = int(rec["num_nodes"]), len(rec["senders"])
    if n > max_nodes or e > max_edges:
      raise ValueError(
          f"A graph with {n} nodes and {e} edges exceeds the batch budget of "
          f"max_nodes={max_nodes}, max_edges={max_edges}; raise config.data.max_nodes/max_edges."
      )
    out["node_mask"][i, :n] = True
    out["senders"][i, :e] = rec["senders"]
    out["receivers"][i, :e] = rec["receivers"]
    out["edge_mask"][i, :e] = True
    for key, value in rec.items():
      if key in ("num_nodes", "senders", "receivers"):
        continue
      value = np.asarray(value)
      if key in NODE_KEYS or key in EDGE_KEYS:
        budget = max_nodes if key in NODE_KEYS else max_edges
        if key not in out:
          out[key] = np.zeros((b, budget) + value.shape[1:], value.dtype)
        out[key][i, : len(value)] = value
      else:
        if key not in out:
          out[key] = np.zeros((b,) + value.shape, value.dtype)
        out[key][i] = value
  return out


def gather_nodes(h: jax.Array, index: jax.Array) -> jax.Array:
  """h[b, index[b, e]] for every graph: [B, N, D], [B, E] -> [B, E, D]."""
  return jax.numpy.take_along_axis(h, index[..., None], axis=1)
