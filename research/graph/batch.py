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

Pair keys hold one value per ordered pair of a graph's nodes ([n, n, ...] per
graph, dense [B, N, N, ...] in the batch), e.g. Graphormer's shortest-path
distances and shortest-path edge ids (research/graph/shortest_paths.py).
Pairs that involve a padded node hold the key's padding value (`PAIR_KEYS`).
Pair keys that hold edge ids (`EDGE_ID_PAIR_KEYS`) index a graph's own edge
list in its record; `pad_graphs` offsets them by the edges that come before the
graph in its pack, so in the batch they index the pack's [E] edge list, like
`senders` and `receivers`. -1 ("no edge") stays -1.

Expander edges (Exphormer's random regular graph per input graph, see
research/graph/expander.py) form a second edge list in the same packs: records
hold them as `expander_senders` / `expander_receivers` (`EXPANDER_KEYS`), and
`pad_graphs(..., max_expander_edges=M)` packs them into [S, M] arrays with the
same node offsets as the real edges, switched off by `expander_mask`. Without
a budget they are left out of the batch, so models that do not use them pay
nothing. `aggregate` and `edge_softmax` take `mask=batch.expander_mask` to work
on that list; `gather` needs no mask.

Models move values between nodes and edges only through `GraphBatch.gather`,
`aggregate`, `edge_softmax`, `gather_edges`, `to_pairs` and `per_graph_edges`,
which hide the packing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import flax.struct
import jax.numpy as jnp
import numpy as np

from research.graph import segment

Array = Any  # jax.Array or np.ndarray

# Per-graph record keys (numpy, unpadded) produced by dataset builders.
NODE_KEYS = ("node_features", "lap_eigvec", "lap_sym_eigvec", "rwse", "node_labels")  # leading dim: num_nodes
EDGE_KEYS = ("edge_features",)  # leading dim: num_edges
GRAPH_KEYS = ("lap_eigval", "lap_sym_eigval")  # no node/edge dim
# Pair keys (leading dims: num_nodes, num_nodes) and the value that pads them.
PAIR_KEYS: dict[str, int] = {
  "spd": -1,  # shortest_path_distances; -1 = a pair with a padded node (never a distance)
  "path_edges": -1,  # shortest_path_edges; -1 = no edge (also past a path's end)
}
# Pair keys whose values are edge ids (>= 0) or -1; offset to the pack's edge list.
EDGE_ID_PAIR_KEYS = ("path_edges",)
# A second edge list per graph (Exphormer's expander edges): endpoints in [0, num_nodes).
EXPANDER_KEYS = ("expander_senders", "expander_receivers")


@flax.struct.dataclass
class GraphBatch:
  """B graphs padded to N nodes; their edges in S = B / P packs of E edges.

  node_features: [B, N, F] float32 features, or int32 category ids
  node_mask:     [B, N] bool, True for real nodes
  senders:       [S, E] int32, source node of each directed edge (index into its pack's P * N nodes)
  receivers:     [S, E] int32, target node of each directed edge
  edge_mask:     [S, E] bool, True for real edges
  edge_features: [S, E, Fe] float32 features, or int32 category ids
  lap_eigvec:    [B, N, K] Laplacian eigenvectors (zero columns for eigenpairs a graph lacks)
  lap_eigval:    [B, K] matching eigenvalues (zero where absent)
  lap_sym_eigvec, lap_sym_eigval: the same for the symmetric normalised Laplacian
                 I - D^-1/2 A D^-1/2, for datasets whose records hold both (each
                 dataset's docstring says which eigenpairs it keeps)
  rwse:          [B, N, R] random-walk return probabilities for 1..R steps
  spd:           [B, N, N] int shortest-path distances (Graphormer's conventions, 510 if
                 unreachable); -1 on pairs with a padded node
  path_edges:    [B, N, N, K] int edge ids (into the pack's E edges) along one shortest
                 path per pair, up to K hops; -1 where there is no hop and on padding
  expander_senders:   [S, E_x] int32 expander edges, indexed like `senders` (same packs)
  expander_receivers: [S, E_x] int32
  expander_mask:      [S, E_x] bool, True for real expander edges
  """

  node_features: Array
  node_mask: Array
  senders: Array
  receivers: Array
  edge_mask: Array
  edge_features: Array | None = None
  lap_eigvec: Array | None = None
  lap_eigval: Array | None = None
  lap_sym_eigvec: Array | None = None
  lap_sym_eigval: Array | None = None
  rwse: Array | None = None
  spd: Array | None = None
  path_edges: Array | None = None
  expander_senders: Array | None = None
  expander_receivers: Array | None = None
  expander_mask: Array | None = None

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

  def aggregate(self, data: Array, index: Array, mask: Array | None = None) -> Array:
    """Sums real edges' values into the nodes `index` names: [S, E, ...] -> [B, N, ...].

    `mask` [S, E] picks the real edges (default `edge_mask`; `expander_mask`
    for the expander list).
    """
    mask = self.edge_mask if mask is None else mask
    out = segment.segment_sum(data, index, mask, self.graphs_per_pack * self.num_nodes)
    return out.reshape(self.node_mask.shape + out.shape[2:])

  @property
  def pair_mask(self) -> Array:
    """[B, N, N] bool, True where both nodes of the ordered pair are real."""
    return self.node_mask[:, :, None] & self.node_mask[:, None, :]

  def to_pairs(self, values: Array) -> Array:
    """Sums real edges' values onto their (receiver, sender) pairs: [S, E, ...] -> [B, N, N, ...].

    Entry [b, i, j] holds the edges j -> i of graph b (query i, key j), as the
    all-pairs models (GRIT, SAN) read them; pairs without an edge are zero and
    parallel edges add up.
    """
    p, n = self.graphs_per_pack, self.num_nodes
    block = self.receivers // n  # [S, E], which graph of its pack each edge belongs to
    # Edge j -> i of graph g (local ids i = receiver - g N, j = sender - g N) goes to pair g N^2 + i N + j
    # of the pack's P N^2 pairs, which is receiver * N + j.
    flat = self.receivers * n + (self.senders - block * n)  # [S, E]
    out = segment.segment_sum(values, flat, self.edge_mask, p * n * n)  # [S, P * N * N, ...]
    return out.reshape((self.node_mask.shape[0], n, n) + values.shape[2:])

  def per_graph_edges(self) -> tuple[Array, Array, Array]:
    """The packs' edge lists split per graph, with graph-local node ids: senders, receivers, mask, each [B, E].

    Graph b = s * P + g keeps the edges of pack s whose sender lies in its g-th block of N nodes.
    """
    p, n = self.graphs_per_pack, self.num_nodes
    if p == 1:
      return self.senders, self.receivers, self.edge_mask
    block = jnp.arange(p)[None, :, None]  # [1, P, 1]
    senders, receivers = self.senders[:, None, :], self.receivers[:, None, :]  # [S, 1, E]
    mask = self.edge_mask[:, None, :] & (senders // n == block)  # [S, P, E]
    local = lambda index: jnp.where(mask, index - block * n, 0).reshape(-1, index.shape[-1])
    return local(senders), local(receivers), mask.reshape(-1, mask.shape[-1])

  def edge_softmax(self, logits: Array, index: Array, mask: Array | None = None) -> Array:
    """Softmax of edge logits [S, E, ...] over the real edges that share the node `index` names.

    `mask` as in `aggregate` (default `edge_mask`).
    """
    mask = self.edge_mask if mask is None else mask
    return segment.segment_softmax(logits, index, mask, self.graphs_per_pack * self.num_nodes)

  def gather_edges(self, e: Array, edge_ids: Array) -> Array:
    """Edge values at per-graph edge ids: e [S, E, ...], edge_ids [B, ...] -> [B, ..., ...].

    Graph b reads the edge list of its pack, b // P; ids are positions in that
    list (as `pad_graphs` writes `EDGE_ID_PAIR_KEYS`). Ids < 0 give zeros.
    """
    b = edge_ids.shape[0]
    flat = edge_ids.reshape(b, -1).astype(jnp.int32)  # [B, M]
    pack = (jnp.arange(b) // self.graphs_per_pack)[:, None]  # [B, 1]
    out = e[pack, jnp.maximum(flat, 0)]  # [B, M, ...]
    out = jnp.where((flat >= 0).reshape(flat.shape + (1,) * (e.ndim - 2)), out, 0)
    return out.reshape(edge_ids.shape + e.shape[2:])

  @classmethod
  def from_batch(cls, batch: Mapping[str, Array]) -> GraphBatch:
    """Picks the graph fields out of a data batch (which also holds labels)."""
    names = [f.name for f in flax.struct.dataclasses.fields(cls)]
    return cls(**{k: batch[k] for k in names if k in batch})


def pad_graphs(
  records: Sequence[Mapping[str, np.ndarray]],
  max_nodes: int,
  max_edges: int,
  graphs_per_pack: int = 1,
  max_expander_edges: int | None = None,
) -> dict[str, np.ndarray]:
  """Collates per-graph numpy records into one padded batch (a dict of arrays).

  Each record has `num_nodes`, `senders`, `receivers` and any of NODE_KEYS,
  EDGE_KEYS, GRAPH_KEYS and PAIR_KEYS; other keys (graph labels) are stacked
  as they are. Node and edge arrays keep their dtype (integer features are
  category ids) and are zero-padded. Every `graphs_per_pack` consecutive
  graphs share one edge list of `max_edges` edges (see the module docstring).

  Pair keys ([n, n, ...] per graph) are padded to [B, N, N, ...] with their
  value in PAIR_KEYS. Edge ids of EDGE_ID_PAIR_KEYS (>= 0, or -1 for none)
  must index the graph's own edges; they are offset to the pack's edge list
  and stored as int16 when `max_edges` fits (else int32), whatever the
  records' dtype, so the batch dtype depends on the budget only.

  With `max_expander_edges`, every record must hold EXPANDER_KEYS; they are
  packed like the real edges into `expander_senders`, `expander_receivers`
  and `expander_mask` [S, max_expander_edges]. Without it (None) they are
  dropped.
  """
  b, p = len(records), graphs_per_pack
  if p < 1 or b % p:
    raise ValueError(
      f"A batch of {b} graphs does not split into packs of graphs_per_pack={p}; "
      "choose a pack size that divides the (per-process) batch size."
    )
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
      if key in ("num_nodes", "senders", "receivers") or key in EXPANDER_KEYS:
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
      elif key in PAIR_KEYS:
        if value.shape[:2] != (n, n):
          raise ValueError(
            f"Pair key {key!r} of graph {i} has shape {value.shape}; a graph with {n} nodes needs [{n}, {n}, ...]."
          )
        if key in EDGE_ID_PAIR_KEYS:
          value = _offset_edge_ids(key, i, value, e, start)
        if key not in out:
          dtype = _edge_id_dtype(max_edges) if key in EDGE_ID_PAIR_KEYS else value.dtype
          out[key] = np.full((b, max_nodes, max_nodes) + value.shape[2:], PAIR_KEYS[key], dtype)
        out[key][i, :n, :n] = value
      else:
        if key not in out:
          out[key] = np.zeros((b,) + value.shape, value.dtype)
        out[key][i] = value
  if max_expander_edges is not None:
    out.update(_pad_expander_edges(records, max_nodes, max_expander_edges, p))
  return out


def _pad_expander_edges(
  records: Sequence[Mapping[str, np.ndarray]], max_nodes: int, max_edges: int, graphs_per_pack: int
) -> dict[str, np.ndarray]:
  """EXPANDER_KEYS of every record packed into [S, max_edges] lists (see `pad_graphs`)."""
  s, p = len(records) // graphs_per_pack, graphs_per_pack
  out = {
    "expander_senders": np.zeros((s, max_edges), np.int32),
    "expander_receivers": np.zeros((s, max_edges), np.int32),
    "expander_mask": np.zeros((s, max_edges), bool),
  }
  fill = np.zeros(s, np.int64)
  for i, rec in enumerate(records):
    missing = [k for k in EXPANDER_KEYS if k not in rec]
    if missing:
      raise ValueError(
        f"Graph {i} has no {missing}, but max_expander_edges={max_edges} asks for expander edges; build the "
        "dataset with expander edges (e.g. the SBM builders from version 1.1.0) or drop max_expander_edges."
      )
    senders, receivers = np.asarray(rec["expander_senders"]), np.asarray(rec["expander_receivers"])
    n, e = int(rec["num_nodes"]), len(senders)
    pack, start = i // p, int(fill[i // p])
    if len(receivers) != e:
      raise ValueError(
        f"Graph {i} has {e} expander_senders but {len(receivers)} expander_receivers; "
        "give one of each per expander edge."
      )
    if e and (min(senders.min(), receivers.min()) < 0 or max(senders.max(), receivers.max()) >= n):
      raise ValueError(
        f"Graph {i}'s expander edges name nodes in [{min(senders.min(), receivers.min())}, "
        f"{max(senders.max(), receivers.max())}], but it has {n} nodes: ids must lie in [0, {n})."
      )
    if start + e > max_edges:
      raise ValueError(
        f"A graph with {e} expander edges does not fit: max_expander_edges={max_edges} per pack of {p} graph(s), "
        f"{start} of them already used; raise config.data.max_expander_edges."
      )
    offset = (i % p) * max_nodes
    out["expander_senders"][pack, start : start + e] = senders + offset
    out["expander_receivers"][pack, start : start + e] = receivers + offset
    out["expander_mask"][pack, start : start + e] = True
    fill[pack] += e
  return out


def _edge_id_dtype(max_edges: int) -> np.dtype:
  """The narrowest of int16/int32 that holds edge ids up to max_edges - 1."""
  return np.dtype(np.int16 if max_edges <= np.iinfo(np.int16).max + 1 else np.int32)


def _offset_edge_ids(key: str, graph: int, ids: np.ndarray, num_edges: int, start: int) -> np.ndarray:
  """A graph's edge ids (or -1) -> ids into its pack's edge list, where its edges begin at `start`."""
  ids = ids.astype(np.int64)
  if ids.size and (ids.min() < -1 or ids.max() >= num_edges):
    raise ValueError(
      f"Pair key {key!r} of graph {graph} holds edge ids in [{ids.min()}, {ids.max()}], but the graph has "
      f"{num_edges} edges: ids must be -1 (none) or index the graph's own edge list."
    )
  return np.where(ids >= 0, ids + start, -1)
