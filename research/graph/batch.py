"""Padded graph batches with static shapes.

A batch holds B graphs, each padded to N nodes (`node_mask` marks real ones),
so node states are dense [B, N, D] arrays that attention can use directly.
Edges are packed: consecutive groups of P graphs ("packs", P =
graphs_per_pack) share one edge list padded to E edges, S = B / P lists in
all. An edge's endpoints index the pack's nodes laid end to end, so node i of
the pack's g-th graph is g * N + i. With P = 1 every graph has its own edge
list; larger packs waste less padding when edge counts vary a lot between
graphs (PATTERN: 5.9k edges on average, up to 14k). Padded edges point at
node 0 and are switched off by `edge_mask`. Shapes never depend on the data,
so a jitted step compiles once per run.

Models move values between nodes and edges only through `GraphBatch.gather`,
`aggregate` and `edge_softmax`, which hide the packing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from research.graph import segment

Array = Any  # jax.Array or np.ndarray

# Per-graph record keys (numpy, unpadded) produced by dataset builders.
NODE_KEYS = ("node_features", "lap_eigvec", "rwse", "node_labels")  # leading dim: num_nodes
EDGE_KEYS = ("edge_features",)  # leading dim: num_edges
GRAPH_KEYS = ("lap_eigval",)  # no node/edge dim


@flax.struct.dataclass
class GraphBatch:
  """B graphs padded to N nodes; their edges in S = B / P packs of E edges.

  node_features: [B, N, F] float32 features, or int32 category ids
  node_mask:     [B, N] bool, True for real nodes
  senders:       [S, E] int32, source node of each directed edge (index into its pack's P * N nodes)
  receivers:     [S, E] int32, target node of each directed edge
  edge_mask:     [S, E] bool, True for real edges
  edge_features: [S, E, Fe] float32 features, or int32 category ids
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

  @property
  def graphs_per_pack(self) -> int:
    """P, the number of graphs that share one edge list."""
    return self.node_mask.shape[0] // self.senders.shape[0]

  def gather(self, h: Array, index: Array) -> Array:
    """Node values at edge endpoints: h [B, N, ...], index [S, E] (senders or receivers) -> [S, E, ...]."""
    packed = h.reshape((index.shape[0], -1) + h.shape[2:])  # [S, P * N, ...]
    return jnp.take_along_axis(packed, index.reshape(index.shape + (1,) * (h.ndim - 2)), axis=1)

  def aggregate(self, data: Array, index: Array) -> Array:
    """Sums real edges' values into the nodes `index` names: [S, E, ...] -> [B, N, ...]."""
    out = segment.segment_sum(data, index, self.edge_mask, self.graphs_per_pack * self.num_nodes)
    return out.reshape(self.node_mask.shape + out.shape[2:])

  def edge_softmax(self, logits: Array, index: Array) -> Array:
    """Softmax of edge logits [S, E, ...] over the real edges that share the node `index` names."""
    return segment.segment_softmax(logits, index, self.edge_mask, self.graphs_per_pack * self.num_nodes)

  @classmethod
  def from_batch(cls, batch: Mapping[str, Array]) -> GraphBatch:
    """Picks the graph fields out of a data batch (which also holds labels)."""
    names = [f.name for f in flax.struct.dataclasses.fields(cls)]
    return cls(**{k: batch[k] for k in names if k in batch})


def pad_graphs(
    records: Sequence[Mapping[str, np.ndarray]], max_nodes: int, max_edges: int, graphs_per_pack: int = 1
) -> dict[str, np.ndarray]:
  """Collates per-graph numpy records into one padded batch (a dict of arrays).

  Each record has `num_nodes`, `senders`, `receivers` and any of NODE_KEYS,
  EDGE_KEYS, GRAPH_KEYS; other keys (graph labels) are stacked as they are.
  Node and edge arrays keep their dtype (integer features are category ids)
  and are zero-padded. Every `graphs_per_pack` consecutive graphs share one
  edge list of `max_edges` edges (see the module docstring).
  """
  b, p = len(records), graphs_per_pack
  if p < 1 or b % p:
    raise ValueError(f"A batch of {b} graphs does not split into packs of graphs_per_pack={p}; "
                     "choose a pack size that divides the (per-process) batch size.")
  out: dict[str, np.ndarray] = {
      "node_mask": np.zeros((b, max_nodes), bool),
      "senders": np.zeros((b // p, max_edges), np.int32),
      "receivers": np.zeros((b // p, max_edges), np.int32),
      "edge_mask": np.zeros((b // p, max_edges), bool),
  }
  fill = np.zeros(b // p, np.int64)  # edges used so far in each pack
  for i, rec in enumerate(records):
    n, e = int(rec["num_nodes"]), len(rec["senders"])
    pack, start = i // p, int(fill[i // p])
    if n > max_nodes or start + e > max_edges:
      raise ValueError(
          f"A graph with {n} nodes and {e} edges does not fit: max_nodes={max_nodes} per graph and "
          f"max_edges={max_edges} per pack of {p} graph(s), {start} of them already used; "
          "raise config.data.max_nodes/max_edges."
      )
    offset = (i % p) * max_nodes
    out["node_mask"][i, :n] = True
    out["senders"][pack, start : start + e] = rec["senders"] + offset
    out["receivers"][pack, start : start + e] = rec["receivers"] + offset
    out["edge_mask"][pack, start : start + e] = True
    fill[pack] += e
    for key, value in rec.items():
      if key in ("num_nodes", "senders", "receivers"):
        continue
      value = np.asarray(value)
      if key in NODE_KEYS:
        if key not in out:
          out[key] = np.zeros((b, max_nodes) + value.shape[1:], value.dtype)
        out[key][i, :n] = value
      elif key in EDGE_KEYS:
        if key not in out:
          out[key] = np.zeros((b // p, max_edges) + value.shape[1:], value.dtype)
        out[key][pack, start : start + e] = value
      else:
        if key not in out:
          out[key] = np.zeros((b,) + value.shape, value.dtype)
        out[key][i] = value
  return out
