"""Tests for research/graph/encodings.py against independent networkx/scipy references."""

from __future__ import annotations

import jax
import networkx as nx
import numpy as np
import pytest
import scipy.linalg

from research.graph import encodings


def _edges(graph: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
  """Both directions of every undirected edge."""
  pairs = np.array(list(graph.edges()), np.int32).reshape(-1, 2)
  return np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])


def _reference_laplacian(graph: nx.Graph) -> np.ndarray:
  """networkx's normalised Laplacian, with Benchmarking GNNs' unit diagonal for isolated nodes."""
  n = graph.number_of_nodes()
  lap = nx.normalized_laplacian_matrix(graph, nodelist=range(n)).toarray()
  isolated = [v for v in range(n) if graph.degree(v) == 0]
  lap[isolated, isolated] = 1.0  # networkx leaves these rows at 0
  return lap


def _check_against_reference(graph: nx.Graph, k: int) -> None:
  """Eigenvalues match; every kept column is a unit vector in the reference eigenspace."""
  n = graph.number_of_nodes()
  senders, receivers = _edges(graph)
  eigvec, eigval = encodings.laplacian_pe(senders, receivers, n, k)
  ref_val, ref_vec = scipy.linalg.eigh(_reference_laplacian(graph))
  kept = min(k, n - 1)
  np.testing.assert_allclose(eigval[:kept], ref_val[1 : kept + 1], atol=1e-5)
  # Columns are orthonormal ...
  np.testing.assert_allclose(eigvec[:, :kept].T @ eigvec[:, :kept], np.eye(kept), atol=1e-5)
  # ... and each lies in the reference eigenspace of its eigenvalue, which pins
  # it down up to sign (simple eigenvalues) or a rotation (repeated ones).
  for j in range(kept):
    space = ref_vec[:, np.abs(ref_val - eigval[j]) < 1e-6]
    assert space.shape[1] >= 1
    v = eigvec[:, j].astype(np.float64)
    np.testing.assert_allclose(space @ (space.T @ v), v, atol=1e-5)


def _csl_graph(n: int = 41, skip: int = 9) -> nx.Graph:
  graph = nx.cycle_graph(n)
  graph.add_edges_from((i, (i + skip) % n) for i in range(n))
  return graph


@pytest.mark.parametrize(
  "graph",
  [
    pytest.param(nx.path_graph(12), id="path"),
    pytest.param(nx.petersen_graph(), id="petersen"),
    pytest.param(nx.connected_watts_strogatz_graph(30, 4, 0.3, seed=1), id="watts_strogatz"),
    pytest.param(_csl_graph(), id="csl_skip9"),
  ],
)
def test_laplacian_pe_matches_scipy_on_networkx_laplacian(graph):
  _check_against_reference(graph, k=8)


def test_laplacian_pe_with_repeated_eigenvalues_matches_projectors():
  # C_41(1, 9) has eigenvalue pairs and one of multiplicity 4; compare the
  # projectors onto each eigenspace that the 20 kept columns cover fully.
  graph = _csl_graph(skip=9)
  senders, receivers = _edges(graph)
  eigvec, eigval = encodings.laplacian_pe(senders, receivers, 41, 20)
  ref_val, ref_vec = scipy.linalg.eigh(_reference_laplacian(graph))
  assert np.sum(np.abs(ref_val - ref_val[1]) < 1e-6) == 4
  start, compared = 1, 0
  while start <= 20:
    group = np.flatnonzero(np.abs(ref_val - ref_val[start]) < 1e-6)
    if group[-1] > 20:
      break  # eigenspace cut by the k boundary; covered by the check above
    ours = eigvec[:, group - 1].astype(np.float64)
    theirs = ref_vec[:, group]
    np.testing.assert_allclose(ours @ ours.T, theirs @ theirs.T, atol=1e-5)
    start, compared = group[-1] + 1, compared + 1
  assert compared >= 5
  _check_against_reference(graph, k=20)


def test_laplacian_pe_simple_eigenvalues_match_up_to_sign():
  graph = nx.path_graph(10)  # all eigenvalues distinct
  senders, receivers = _edges(graph)
  eigvec, _ = encodings.laplacian_pe(senders, receivers, 10, 6)
  _, ref_vec = scipy.linalg.eigh(_reference_laplacian(graph))
  ref = ref_vec[:, 1:7]
  signs = np.sign(np.sum(eigvec * ref, axis=0))
  assert np.all(signs != 0)
  np.testing.assert_allclose(eigvec * signs, ref, atol=1e-5)


def test_laplacian_pe_zero_pads_small_graphs():
  senders, receivers = _edges(nx.cycle_graph(3))
  eigvec, eigval = encodings.laplacian_pe(senders, receivers, 3, 5)
  assert eigvec.shape == (3, 5) and eigval.shape == (5,)
  assert eigvec.dtype == np.float32 and eigval.dtype == np.float32
  assert np.all(np.isfinite(eigvec)) and np.all(np.isfinite(eigval))
  np.testing.assert_allclose(eigval[:2], [1.5, 1.5], atol=1e-6)
  assert np.all(eigvec[:, 2:] == 0) and np.all(eigval[2:] == 0)
  assert np.all(np.linalg.norm(eigvec[:, :2], axis=0) > 0.99)


@pytest.mark.parametrize("num_nodes", [0, 1])
def test_laplacian_pe_degenerate_sizes(num_nodes):
  empty = np.zeros((0,), np.int32)
  eigvec, eigval = encodings.laplacian_pe(empty, empty, num_nodes, 4)
  assert eigvec.shape == (num_nodes, 4)
  assert np.all(eigvec == 0) and np.all(eigval == 0)


def test_laplacian_pe_isolated_nodes_are_finite():
  graph = nx.path_graph(6)
  graph.add_nodes_from([6, 7])  # two isolated nodes
  senders, receivers = _edges(graph)
  eigvec, eigval = encodings.laplacian_pe(senders, receivers, 8, 7)
  assert np.all(np.isfinite(eigvec)) and np.all(np.isfinite(eigval))
  _check_against_reference(graph, k=7)


def test_laplacian_pe_symmetrises_directed_input():
  graph = nx.petersen_graph()
  both = _edges(graph)
  one_way = tuple(a[: graph.number_of_edges()] for a in both)
  for got, want in zip(encodings.laplacian_pe(*one_way, 10, 9), encodings.laplacian_pe(*both, 10, 9)):
    np.testing.assert_array_equal(got, want)


def test_combinatorial_laplacian_pe_keeps_trivial_pair_like_graphgps():
  graph = nx.connected_watts_strogatz_graph(20, 4, 0.3, seed=3)
  senders, receivers = _edges(graph)
  eigvec, eigval = encodings.laplacian_pe(senders, receivers, 20, 6, normalization="none", skip_trivial=False)
  ref_val, ref_vec = scipy.linalg.eigh(nx.laplacian_matrix(graph, nodelist=range(20)).toarray().astype(float))
  np.testing.assert_allclose(eigval, ref_val[:6], atol=1e-5)
  # The trivial eigenvalue: zero up to the float64 eigensolver's rounding (LAPACK gives 0 or ~1e-15, by machine).
  np.testing.assert_allclose(eigval[0], 0.0, atol=1e-12)
  np.testing.assert_allclose(np.abs(eigvec[:, 0]), np.full(20, 20**-0.5), atol=1e-5)  # constant vector
  for j in range(1, 6):
    space = ref_vec[:, np.abs(ref_val - eigval[j]) < 1e-6]
    v = eigvec[:, j].astype(np.float64)
    np.testing.assert_allclose(space @ (space.T @ v), v, atol=1e-5)


def test_laplacian_pe_keeping_trivial_pads_after_n_columns():
  senders, receivers = _edges(nx.cycle_graph(3))
  eigvec, eigval = encodings.laplacian_pe(senders, receivers, 3, 5, normalization="none", skip_trivial=False)
  np.testing.assert_allclose(eigval[:3], [0.0, 3.0, 3.0], atol=1e-6)
  assert np.all(eigvec[:, 3:] == 0) and np.all(eigval[3:] == 0)


def test_laplacian_pe_rejects_unknown_normalization():
  with pytest.raises(ValueError, match="normalization='rw'"):
    encodings.laplacian_pe(np.array([0]), np.array([1]), 2, 1, normalization="rw")


def test_laplacian_pe_rejects_out_of_range_nodes():
  with pytest.raises(ValueError, match="num_nodes=3"):
    encodings.laplacian_pe(np.array([0, 3]), np.array([1, 0]), 3, 2)


def _reference_rwse(graph: nx.Graph, k: int) -> np.ndarray:
  """diag(P^t) by explicit matrix powers of networkx's adjacency."""
  n = graph.number_of_nodes()
  adj = nx.to_numpy_array(graph, nodelist=range(n))
  deg = adj.sum(axis=1)
  walk = np.zeros_like(adj)
  for v in range(n):
    if deg[v] > 0:
      walk[v] = adj[v] / deg[v]
  return np.stack([np.diag(np.linalg.matrix_power(walk, t)) for t in range(1, k + 1)], axis=1)


@pytest.mark.parametrize(
  "graph",
  [
    pytest.param(nx.petersen_graph(), id="petersen"),
    pytest.param(nx.star_graph(5), id="star"),
    pytest.param(_csl_graph(skip=4), id="csl_skip4"),
    pytest.param(nx.disjoint_union(nx.path_graph(4), nx.empty_graph(2)), id="isolated"),
  ],
)
def test_rwse_matches_matrix_powers(graph):
  n = graph.number_of_nodes()
  senders, receivers = _edges(graph)
  got = encodings.rwse(senders, receivers, n, 6)
  assert got.shape == (n, 6) and got.dtype == np.float32
  np.testing.assert_allclose(got, _reference_rwse(graph, 6), atol=1e-6)


def test_rwse_known_values():
  senders, receivers = _edges(nx.cycle_graph(5))
  got = encodings.rwse(senders, receivers, 6, 3)  # node 5 is isolated
  np.testing.assert_allclose(got[:5], np.tile([0.0, 0.5, 0.0], (5, 1)), atol=1e-7)
  np.testing.assert_array_equal(got[5], 0.0)


def test_random_sign_flip_flips_whole_columns():
  rng = np.random.default_rng(0)
  eigvec = rng.normal(size=(16, 7, 5)).astype(np.float32)
  eigvec[3, :, 4] = 0.0  # a padded column stays zero
  flipped = np.asarray(encodings.random_sign_flip(jax.random.key(0), eigvec))
  assert flipped.shape == eigvec.shape and flipped.dtype == eigvec.dtype
  np.testing.assert_array_equal(np.abs(flipped), np.abs(eigvec))
  ratio = flipped / np.where(eigvec == 0, 1.0, eigvec)
  signs = ratio[:, 0, :]  # [B, K]
  assert set(np.unique(signs[eigvec[:, 0, :] != 0])) == {-1.0, 1.0}
  nonzero = eigvec != 0
  np.testing.assert_array_equal(ratio[nonzero], np.broadcast_to(signs[:, None, :], ratio.shape)[nonzero])
  # Graphs draw independent signs.
  assert len({tuple(row) for row in signs}) > 1


def test_random_sign_flip_depends_on_key_and_checks_rank():
  eigvec = np.ones((8, 3, 4), np.float32)
  a = encodings.random_sign_flip(jax.random.key(0), eigvec)
  b = encodings.random_sign_flip(jax.random.key(1), eigvec)
  assert not np.array_equal(a, b)
  with pytest.raises(ValueError, match=r"\[B, N, K\]"):
    encodings.random_sign_flip(jax.random.key(0), eigvec[0])
