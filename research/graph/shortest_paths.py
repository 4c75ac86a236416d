"""Graphormer's spatial encoding (shortest-path distances) and multi-hop edge paths.

Graphormer (Ying et al., NeurIPS 2021) reads the graph as directed, exactly as
its edge list gives it (`adj[senders, receivers] = True` in
graphormer/data/wrapper.py): a path from i to j follows edges sender -> receiver.
Undirected datasets (OGB, PyG's ZINC) list both directions of every bond, so
for them this is the undirected distance. Duplicate edges and self-loops change
nothing; d(i, i) = 0. Both functions here follow that reading.

Conventions of the official code (microsoft/Graphormer), which a model built on
these arrays has to reproduce:

- Unreachable pairs get the distance `UNREACHABLE_DISTANCE` = 510
  (graphormer/data/algos.pyx, `floyd_warshall`, which also uses 510 as its
  infinity, so a real distance >= 510 is reported as 510 too).
- Spatial encoding: the collator adds 1 to every distance
  (graphormer/data/collator.py, `pad_spatial_pos_unsqueeze`) so that 0 can mean
  padding (`nn.Embedding(num_spatial, num_heads, padding_idx=0)` in
  graphormer/modules/graphormer_layers.py). Embedding index = distance + 1:
  1 for i == j, 511 for unreachable; the table has `NUM_SPATIAL` = 512 rows
  (graphormer/tasks/graph_prediction.py).
- Pairs beyond a maximum distance: the collator sets the attention bias to -inf
  where distance >= spatial_pos_max, but the training task passes
  spatial_pos_max = 1024 (graph_prediction.py; the collator's own default of 20
  is overridden), which no distance reaches. So no pair is masked: unreachable
  pairs attend with the learned bias of embedding row 511.
- Multi-hop edge encoding: the edges of one shortest path, truncated to
  multi_hop_max_dist = `MULTI_HOP_MAX_DISTANCE` = 5 hops (graph_prediction.py),
  with a learned [num_heads, num_heads] matrix per hop index (128 of them,
  num_edge_dis); see `shortest_path_edges`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from research.graph.encodings import check_edges

# Distance of an unreachable pair (and of any pair >= 510 hops apart), as in
# graphormer/data/algos.pyx.
UNREACHABLE_DISTANCE = 510
# Rows of the spatial-encoding table: index = distance + 1, 0 = padding
# (graphormer/tasks/graph_prediction.py, num_spatial).
NUM_SPATIAL = 512
# Hops of the multi-hop edge encoding (graph_prediction.py, multi_hop_max_dist).
MULTI_HOP_MAX_DISTANCE = 5


def _directed_adjacency(senders: np.ndarray, receivers: np.ndarray, num_nodes: int) -> scipy.sparse.csr_matrix:
  """0/1 sparse adjacency [n, n] with A[s, r] = 1 for every listed edge s -> r."""
  ones = np.ones(senders.shape[0], np.int8)
  adj = scipy.sparse.csr_matrix((ones, (senders, receivers)), shape=(num_nodes, num_nodes))
  adj.data[:] = 1  # duplicates were summed
  return adj


def shortest_path_distances(senders: np.ndarray, receivers: np.ndarray, num_nodes: int) -> np.ndarray:
  """Hop distances between all ordered pairs of nodes, as in Graphormer.

  Args:
    senders: [E] source node of each directed edge.
    receivers: [E] target node of each directed edge.
    num_nodes: number of nodes n.

  Returns:
    [n, n] int16: out[i, j] = number of edges on a shortest directed path from
    i to j (0 on the diagonal), `UNREACHABLE_DISTANCE` (510) where j cannot be
    reached from i or is 510 or more hops away. Graphormer's spatial embedding
    index is out + 1 (0 is padding).
  """
  senders, receivers = check_edges(senders, receivers, num_nodes)
  if num_nodes == 0:
    return np.zeros((0, 0), np.int16)
  adj = _directed_adjacency(senders, receivers, num_nodes)
  dist = scipy.sparse.csgraph.shortest_path(adj, directed=True, unweighted=True)  # inf if unreachable
  return np.minimum(dist, UNREACHABLE_DISTANCE).astype(np.int16)


def _floyd_warshall(adj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Graphormer's Floyd-Warshall: distances and the intermediate node of each pair.

  Intermediates k = 0..n-1 are tried in index order and a pair keeps the last k
  that strictly shortened it, with 510 as infinity, as algos.pyx does. Row and
  column k cannot change while k is the intermediate, so each pass is one
  vectorised update.

  Args:
    adj: [n, n] bool, adj[s, r] for every edge s -> r.

  Returns:
    dist [n, n] int32 (`UNREACHABLE_DISTANCE` if unreachable) and via [n, n]
    int32, the recorded intermediate node, -1 if the pair is a single edge, the
    diagonal or unreachable.
  """
  n = adj.shape[0]
  dist = np.where(adj, 1, UNREACHABLE_DISTANCE).astype(np.int32)
  np.fill_diagonal(dist, 0)
  via = np.full((n, n), -1, np.int32)
  for k in range(n):
    candidate = dist[:, k, None] + dist[None, k, :]  # [n, n]
    shorter = candidate < dist
    dist = np.where(shorter, candidate, dist)
    via[shorter] = k
  return dist, via


def shortest_path_edges(senders: np.ndarray, receivers: np.ndarray, num_nodes: int, max_distance: int) -> np.ndarray:
  """Edge ids along one shortest path per pair: Graphormer's multi-hop edge input.

  out[i, j, h] is the index (into senders/receivers and the edge features) of
  the h-th edge of the shortest directed path from i to j that Graphormer picks,
  for h < min(d(i, j), max_distance), and -1 elsewhere: on the diagonal, for
  unreachable pairs, and past the path's end. A hop u -> v gets the id of the
  last edge listed as (u, v) if the edge list repeats it (the last write of
  Graphormer's `attn_edge_type[edge_index[0], edge_index[1]] = ...`).

  Which path: when several shortest paths exist, Graphormer (algos.pyx) runs
  Floyd-Warshall over intermediate nodes k = 0..n-1 in index order, records for
  each pair the last k that strictly shortened it, and expands the path
  recursively as path(i, k) + [k] + path(k, j). This function builds the same
  table with the same order and strict comparison, and expands it the same
  way, so it lists the same path, edge for edge. Cost: O(n^3) for the table
  (n vectorised passes), O(n^2 * max_distance) memory for the output.

  What the model does with it (graphormer/modules/graphormer_layers.py,
  `GraphAttnBias`, edge_type="multi_hop"): for each hop h it embeds each of the
  edge's feature columns to a [num_heads] vector and averages over the columns,
  multiplies that vector by a learned [num_heads, num_heads] matrix for hop
  index h, sums over hops and divides by N_ij = min(max(d(i, j), 1),
  max_distance). For a reachable pair i != j, N_ij is the number of ids >= 0
  in out[i, j]; for every other pair the sum is empty (0). So the model needs
  only this array: gather edge features at ids >= 0, zero the -1 hops (which
  Graphormer encodes as its padding index 0), and divide by max(1, count).

  Args:
    senders: [E] source node of each directed edge.
    receivers: [E] target node of each directed edge.
    num_nodes: number of nodes n.
    max_distance: hops kept per path (Graphormer: `MULTI_HOP_MAX_DISTANCE` = 5).

  Returns:
    [n, n, max_distance] int16 if E <= 32767, else int32; -1 where no hop.
  """
  senders, receivers = check_edges(senders, receivers, num_nodes)
  if max_distance < 0:
    raise ValueError(f"max_distance={max_distance} must be >= 0 (hops kept per path).")
  num_edges = senders.shape[0]
  dtype = np.int16 if num_edges <= np.iinfo(np.int16).max else np.int32
  hops = np.full((num_nodes, num_nodes, max_distance), -1, np.int32)
  if num_nodes == 0 or max_distance == 0 or num_edges == 0:
    return hops.astype(dtype)
  edge_id = np.full((num_nodes, num_nodes), -1, np.int32)
  edge_id[senders, receivers] = np.arange(num_edges, dtype=np.int32)  # the last duplicate wins
  adj = edge_id >= 0
  np.fill_diagonal(adj, False)
  dist, via = _floyd_warshall(adj)
  hops[..., 0] = np.where(dist == 1, edge_id, -1)
  hop = np.arange(max_distance)
  # A pair's path is its two halves, both strictly shorter: fill by distance.
  for d in range(2, int(dist[dist < UNREACHABLE_DISTANCE].max()) + 1):
    i, j = np.nonzero(dist == d)  # [P] each
    k = via[i, j]
    first_len = dist[i, k]  # [P], hops of path(i, k)
    second_hop = hop[None, :] - first_len[:, None]  # [P, H], hop index within path(k, j)
    first = hops[i, k]  # [P, H]
    second = hops[k[:, None], j[:, None], np.maximum(second_hop, 0)]  # [P, H]
    hops[i, j] = np.where(second_hop < 0, first, second)
  return hops.astype(dtype)
