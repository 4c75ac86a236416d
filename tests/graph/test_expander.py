"""Tests for research/graph/expander.py: regularity, determinism and expansion."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from research.graph import expander


def _multigraph(senders: np.ndarray, receivers: np.ndarray, n: int) -> np.ndarray:
  """Dense adjacency counting every directed edge."""
  adj = np.zeros((n, n))
  np.add.at(adj, (senders, receivers), 1.0)
  return adj


@pytest.mark.parametrize("algorithm", ["random_d", "hamiltonian"])
def test_deterministic_per_seed(algorithm):
  first = expander.expander_edges(40, 3, np.random.default_rng(7), algorithm=algorithm)
  again = expander.expander_edges(40, 3, np.random.default_rng(7), algorithm=algorithm)
  other = expander.expander_edges(40, 3, np.random.default_rng(8), algorithm=algorithm)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("algorithm", ["random_d", "hamiltonian"])
@pytest.mark.parametrize(("n", "degree"), [(11, 2), (50, 3), (117, 7), (12, 20)])
def test_regular_symmetric_and_in_range(algorithm, n, degree):
  senders, receivers = expander.expander_edges(n, degree, np.random.default_rng(0), algorithm=algorithm)
  d = min(degree, n - 1)
  assert senders.dtype == np.int32 and receivers.dtype == np.int32
  assert senders.shape == receivers.shape == (2 * d * n,)
  assert senders.min() >= 0 and receivers.min() >= 0 and max(senders.max(), receivers.max()) < n
  np.testing.assert_array_equal(np.bincount(senders, minlength=n), 2 * d)
  np.testing.assert_array_equal(np.bincount(receivers, minlength=n), 2 * d)
  adj = _multigraph(senders, receivers, n)
  np.testing.assert_array_equal(adj, adj.T)  # every edge in both directions


def test_first_candidate_is_the_permutation_construction():
  """With one candidate: v -> perm_t(v) for d permutations drawn in turn, then the reverses."""
  n, d = 30, 4
  senders, receivers = expander.expander_edges(n, d, np.random.default_rng(3), max_num_iters=1)
  rng = np.random.default_rng(3)
  perms = np.concatenate([rng.permutation(n) for _ in range(d)])
  np.testing.assert_array_equal(senders[: d * n], np.tile(np.arange(n), d))
  np.testing.assert_array_equal(receivers[: d * n], perms)
  np.testing.assert_array_equal(senders[d * n :], receivers[: d * n])
  np.testing.assert_array_equal(receivers[d * n :], senders[: d * n])


def test_hamiltonian_blocks_are_cycles():
  n, d = 25, 3
  senders, receivers = expander.expander_edges(n, d, np.random.default_rng(1), algorithm="hamiltonian")
  for t in range(d):
    block = slice(2 * n * t, 2 * n * (t + 1))
    cycle = nx.MultiGraph(list(zip(senders[block][::2], receivers[block][::2])))
    assert cycle.number_of_nodes() == n and nx.is_connected(cycle)
    assert all(deg == 2 for _, deg in cycle.degree())


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10])
def test_tiny_graphs_are_complete(n):
  rng = np.random.default_rng(0)
  state = rng.bit_generator.state
  senders, receivers = expander.expander_edges(n, 7, rng)
  assert rng.bit_generator.state == state  # no draws
  assert senders.dtype == np.int32 and senders.shape == (n * (n - 1),)
  expected = np.ones((n, n)) - np.eye(n)
  np.testing.assert_array_equal(_multigraph(senders, receivers, n), expected)


def test_expansion():
  n, d = 200, 5
  senders, receivers = expander.expander_edges(n, d, np.random.default_rng(0))
  adj = _multigraph(senders, receivers, n)
  eigvals = np.linalg.eigvalsh(adj)  # ascending
  np.testing.assert_allclose(eigvals[-1], 2 * d)
  assert max(abs(eigvals[0]), eigvals[-2]) < 0.75 * 2 * d
  # Exphormer's acceptance test: L = D - A without self-loops has a gap within
  # 0.1 of Ramanujan's 2d - 2 sqrt(2d - 1).
  lap = np.diag(adj.sum(axis=0)) - (adj - np.diag(np.diagonal(adj)))
  gap = np.linalg.eigvalsh(lap)[1]
  assert gap >= 2 * d - 2 * math.sqrt(2 * d - 1) - 0.1
  assert nx.is_connected(nx.from_numpy_array(adj, parallel_edges=False))


def test_self_loops_and_duplicates_are_kept():
  senders, receivers = expander.expander_edges(117, 7, np.random.default_rng(0))
  loops = senders == receivers
  assert loops.sum() > 0 and loops.sum() % 2 == 0  # a fixed point v = perm(v) is stored twice
  pairs = np.stack([senders, receivers], axis=1)
  assert len(np.unique(pairs, axis=0)) < len(pairs)


def test_errors_name_the_value():
  with pytest.raises(TypeError, match="Generator"):
    expander.expander_edges(20, 3, 0)
  with pytest.raises(ValueError, match="degree=0"):
    expander.expander_edges(20, 0, np.random.default_rng(0))
  with pytest.raises(ValueError, match="algorithm='ramanujan'"):
    expander.expander_edges(20, 3, np.random.default_rng(0), algorithm="ramanujan")
  with pytest.raises(ValueError, match="num_nodes=-1"):
    expander.expander_edges(-1, 3, np.random.default_rng(0))


def test_sparse_eigensolver_path_agrees(monkeypatch):
  dense = expander.expander_edges(150, 3, np.random.default_rng(5))
  monkeypatch.setattr(expander, "_DENSE_EIGEN_MAX_NODES", 0)
  sparse = expander.expander_edges(150, 3, np.random.default_rng(5))
  for a, b in zip(dense, sparse):
    np.testing.assert_array_equal(a, b)
