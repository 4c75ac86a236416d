"""Tests for research/graph/shortest_paths.py against networkx and a loop-by-loop reference."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from research.graph import shortest_paths

UNREACHABLE = shortest_paths.UNREACHABLE_DISTANCE


def _edges(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
  """Edge list of a graph: both directions for nx.Graph, as given for nx.DiGraph."""
  pairs = np.array(list(graph.edges()), np.int64).reshape(-1, 2)
  if graph.is_directed():
    return pairs[:, 0], pairs[:, 1]
  return np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])


def _disconnected() -> nx.Graph:
  graph = nx.disjoint_union(nx.path_graph(4), nx.cycle_graph(5))
  graph.add_node(9)  # isolated
  return graph


def _directed() -> nx.DiGraph:
  return nx.gnp_random_graph(12, 0.2, seed=3, directed=True)


GRAPHS = [
  pytest.param(nx.path_graph(7), id="path"),
  pytest.param(nx.balanced_tree(2, 3), id="tree"),
  pytest.param(_disconnected(), id="disconnected"),
  pytest.param(_directed(), id="directed"),
  pytest.param(nx.grid_2d_graph(4, 4), id="grid_ties"),
  pytest.param(nx.cycle_graph(8), id="even_cycle_ties"),
]


def _relabelled(graph: nx.Graph) -> nx.Graph:
  return nx.convert_node_labels_to_integers(graph, ordering="sorted")


def _reference_distances(graph: nx.Graph) -> np.ndarray:
  n = graph.number_of_nodes()
  ref = np.full((n, n), UNREACHABLE, np.int64)
  for i, lengths in nx.all_pairs_shortest_path_length(graph):
    for j, d in lengths.items():
      ref[i, j] = d
  return ref


@pytest.mark.parametrize("graph", GRAPHS)
def test_distances_match_networkx(graph):
  graph = _relabelled(graph)
  n = graph.number_of_nodes()
  dist = shortest_paths.shortest_path_distances(*_edges(graph), n)
  assert dist.dtype == np.int16 and dist.shape == (n, n)
  np.testing.assert_array_equal(dist, _reference_distances(graph))


def test_unreachable_convention():
  dist = shortest_paths.shortest_path_distances(np.array([0]), np.array([1]), 3)
  # Directed: 1 cannot reach 0; node 2 is isolated.
  np.testing.assert_array_equal(dist, [[0, 1, 510], [510, 0, 510], [510, 510, 0]])
  assert UNREACHABLE == 510


def test_duplicates_and_self_loops_change_nothing():
  senders, receivers = _edges(_relabelled(nx.balanced_tree(2, 2)))
  plain = shortest_paths.shortest_path_distances(senders, receivers, 7)
  noisy = shortest_paths.shortest_path_distances(
    np.concatenate([senders, senders, [3, 3]]), np.concatenate([receivers, receivers, [3, 3]]), 7
  )
  np.testing.assert_array_equal(noisy, plain)


def test_empty_and_single_node():
  assert shortest_paths.shortest_path_distances(np.zeros(0), np.zeros(0), 0).shape == (0, 0)
  np.testing.assert_array_equal(shortest_paths.shortest_path_distances(np.zeros(0), np.zeros(0), 1), [[0]])
  assert shortest_paths.shortest_path_edges(np.zeros(0), np.zeros(0), 0, 5).shape == (0, 0, 5)
  np.testing.assert_array_equal(shortest_paths.shortest_path_edges(np.zeros(0), np.zeros(0), 1, 2), [[[-1, -1]]])


def _check_paths(senders, receivers, n, dist, hops, max_distance):
  """Every listed path is a prefix of a shortest path from i to j made of real edges."""
  for i in range(n):
    for j in range(n):
      ids = hops[i, j].astype(np.int64)
      expected = 0 if i == j or dist[i, j] == UNREACHABLE else min(int(dist[i, j]), max_distance)
      assert (ids[:expected] >= 0).all() and (ids[expected:] == -1).all(), (i, j, ids)
      node = i
      for h, e in enumerate(ids[:expected]):
        assert senders[e] == node, (i, j, h)
        node = receivers[e]
        # On a shortest path: h + 1 hops from i and d - h - 1 hops to j.
        assert dist[i, node] == h + 1 and dist[node, j] == dist[i, j] - h - 1, (i, j, h)
      if expected == dist[i, j]:
        assert node == j


@pytest.mark.parametrize("graph", GRAPHS)
@pytest.mark.parametrize("max_distance", [1, 3, 5])
def test_path_edges_are_shortest_walks(graph, max_distance):
  graph = _relabelled(graph)
  n = graph.number_of_nodes()
  senders, receivers = _edges(graph)
  hops = shortest_paths.shortest_path_edges(senders, receivers, n, max_distance)
  assert hops.shape == (n, n, max_distance) and hops.dtype == np.int16
  dist = shortest_paths.shortest_path_distances(senders, receivers, n)
  _check_paths(senders, receivers, n, dist, hops, max_distance)


def _graphormer_reference(senders, receivers, n, max_distance):
  """Graphormer's algorithm written loop by loop: Floyd-Warshall, then recursive expansion."""
  adj = np.zeros((n, n), bool)
  adj[senders, receivers] = True
  dist = [[0 if i == j else (1 if adj[i, j] else UNREACHABLE) for j in range(n)] for i in range(n)]
  via = [[-1] * n for _ in range(n)]
  for k in range(n):
    for i in range(n):
      for j in range(n):
        if dist[i][k] + dist[k][j] < dist[i][j]:
          dist[i][j] = dist[i][k] + dist[k][j]
          via[i][j] = k

  def nodes_between(i, j):
    k = via[i][j]
    return [] if k == -1 else nodes_between(i, k) + [k] + nodes_between(k, j)

  edge_id = {}
  for e, (s, r) in enumerate(zip(senders, receivers)):
    edge_id[s, r] = e  # the last duplicate wins
  out = np.full((n, n, max_distance), -1, np.int64)
  for i in range(n):
    for j in range(n):
      if i == j or dist[i][j] >= UNREACHABLE:
        continue
      walk = [i] + nodes_between(i, j) + [j]
      for h in range(min(len(walk) - 1, max_distance)):
        out[i, j, h] = edge_id[walk[h], walk[h + 1]]
  return out


@pytest.mark.parametrize("graph", GRAPHS)
def test_path_edges_pick_graphormers_path(graph):
  graph = _relabelled(graph)
  n = graph.number_of_nodes()
  senders, receivers = _edges(graph)
  hops = shortest_paths.shortest_path_edges(senders, receivers, n, 4)
  np.testing.assert_array_equal(hops, _graphormer_reference(senders, receivers, n, 4))


def test_path_edges_with_duplicates_and_self_loops():
  graph = _relabelled(nx.cycle_graph(6))
  senders, receivers = _edges(graph)
  senders = np.concatenate([senders, [2, 0, 4]])
  receivers = np.concatenate([receivers, [2, 1, 4]])  # a self-loop, a repeated 0 -> 1, a self-loop
  hops = shortest_paths.shortest_path_edges(senders, receivers, 6, 3)
  np.testing.assert_array_equal(hops, _graphormer_reference(senders, receivers, 6, 3))
  assert hops[0, 1, 0] == len(senders) - 2  # the last listed copy of 0 -> 1


def test_path_edges_dtype_widens_for_many_edges():
  many = 40_000
  hops = shortest_paths.shortest_path_edges(np.zeros(many), np.ones(many), 2, 2)
  assert hops.dtype == np.int32
  np.testing.assert_array_equal(hops[0, 1], [many - 1, -1])


def test_errors_name_the_value():
  with pytest.raises(ValueError, match="max_distance=-1"):
    shortest_paths.shortest_path_edges(np.array([0]), np.array([1]), 2, -1)
  with pytest.raises(ValueError, match="num_nodes=2"):
    shortest_paths.shortest_path_distances(np.array([0]), np.array([2]), 2)
