"""Tests for research/graph/rrwp.py against matrix powers of networkx adjacencies."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

from research.graph import batch as graph_batch
from research.graph import rrwp


def _edge_list(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
  """Both directions for nx.Graph (a self-loop once), as given for nx.DiGraph."""
  pairs = np.array(list(graph.edges()), np.int64).reshape(-1, 2)
  if graph.is_directed():
    return pairs[:, 0], pairs[:, 1]
  loops = pairs[:, 0] == pairs[:, 1]
  back = pairs[~loops]
  return np.concatenate([pairs[:, 0], back[:, 1]]), np.concatenate([pairs[:, 1], back[:, 0]])


def _reference(graph: nx.Graph, k: int) -> np.ndarray:
  """[n, n, k] stack of (D^-1 A)^t via networkx's adjacency and numpy.linalg.matrix_power."""
  n = graph.number_of_nodes()
  adj = nx.to_numpy_array(graph, nodelist=range(n), weight=None)
  np.fill_diagonal(adj, np.diagonal(adj) > 0)  # networkx counts an undirected self-loop twice
  deg = adj.sum(axis=1, keepdims=True)
  walk = np.where(deg > 0, adj / np.where(deg > 0, deg, 1), 0.0)
  return np.stack([np.linalg.matrix_power(walk, t) for t in range(k)], axis=-1)


def _with_isolated() -> nx.Graph:
  graph = nx.petersen_graph()
  graph.add_node(10)
  return graph


def _with_self_loop() -> nx.Graph:
  graph = nx.path_graph(6)
  graph.add_edge(2, 2)
  return graph


GRAPHS = [
  pytest.param(_with_isolated(), id="isolated_node"),
  pytest.param(nx.gnp_random_graph(9, 0.3, seed=2, directed=True), id="directed"),
  pytest.param(_with_self_loop(), id="self_loop"),
  pytest.param(nx.balanced_tree(2, 3), id="tree"),
]


@pytest.mark.parametrize("graph", GRAPHS)
def test_matches_matrix_powers(graph):
  n = graph.number_of_nodes()
  out = rrwp.rrwp(*_edge_list(graph), n, rrwp.GRIT_NUM_STEPS)
  assert out.dtype == np.float32 and out.shape == (n, n, 21)
  np.testing.assert_allclose(out, _reference(graph, 21), atol=1e-6)
  np.testing.assert_array_equal(out[..., 0], np.eye(n))


@pytest.mark.parametrize("graph", GRAPHS)
def test_rows_are_distributions(graph):
  n = graph.number_of_nodes()
  senders, receivers = _edge_list(graph)
  out = rrwp.rrwp(senders, receivers, n, 8)
  has_out_edges = np.bincount(senders, minlength=n) > 0
  assert (out >= 0).all()
  np.testing.assert_allclose(out[has_out_edges, :, 1].sum(axis=1), 1.0, atol=1e-6)
  np.testing.assert_array_equal(out[~has_out_edges][..., 1:], 0.0)
  if not graph.is_directed():  # no sinks: the walk never loses mass
    np.testing.assert_allclose(out[has_out_edges].sum(axis=1), 1.0, atol=1e-5)


def test_duplicates_are_merged():
  senders, receivers = _edge_list(nx.cycle_graph(5))
  plain = rrwp.rrwp(senders, receivers, 5, 4)
  doubled = rrwp.rrwp(np.concatenate([senders, senders[:3]]), np.concatenate([receivers, receivers[:3]]), 5, 4)
  np.testing.assert_array_equal(doubled, plain)


def _records():
  """Three graphs of different sizes (duplicates, a self-loop, directed) and an empty one."""
  graphs = [nx.path_graph(5), nx.gnp_random_graph(9, 0.35, seed=1, directed=True), _with_isolated()]
  records = []
  for graph in graphs:
    senders, receivers = _edge_list(graph)
    records.append({"num_nodes": graph.number_of_nodes(), "senders": senders, "receivers": receivers})
  records[0]["senders"] = np.concatenate([records[0]["senders"], [1, 3]])  # a duplicate, a self-loop
  records[0]["receivers"] = np.concatenate([records[0]["receivers"], [2, 3]])
  records.append({"num_nodes": 0, "senders": np.zeros(0, np.int64), "receivers": np.zeros(0, np.int64)})
  return records


def test_dense_batch_matches_numpy():
  records = _records()
  padded = graph_batch.pad_graphs(records, max_nodes=13, max_edges=40)
  k = 7
  fn = jax.jit(rrwp.rrwp_dense, static_argnums=4)
  out = np.asarray(
    fn(
      jnp.asarray(padded["senders"]),
      jnp.asarray(padded["receivers"]),
      jnp.asarray(padded["edge_mask"]),
      jnp.asarray(padded["node_mask"]),
      k,
    )
  )
  assert out.shape == (4, 13, 13, k) and out.dtype == np.float32
  assert np.isfinite(out).all()
  for b, rec in enumerate(records):
    n = rec["num_nodes"]
    np.testing.assert_allclose(out[b, :n, :n], rrwp.rrwp(rec["senders"], rec["receivers"], n, k), atol=1e-6)
    outside = np.ones((13, 13), bool)
    outside[:n, :n] = False
    np.testing.assert_array_equal(out[b][outside], 0.0)


def test_errors_name_the_value():
  with pytest.raises(ValueError, match="k=0"):
    rrwp.rrwp(np.array([0]), np.array([1]), 2, 0)
  with pytest.raises(ValueError, match=r"\[B, E\]"):
    rrwp.rrwp_dense(jnp.zeros(3, jnp.int32), jnp.zeros(3, jnp.int32), jnp.ones(3, bool), jnp.ones((1, 2), bool), 3)
