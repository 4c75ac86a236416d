"""Tests for research/graph/segment.py against per-graph dense numpy references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from research.graph import segment


def _reference_softmax(logits: np.ndarray, receivers: np.ndarray, edge_mask: np.ndarray) -> np.ndarray:
  """Softmax over the real edges of each (graph, receiver), by explicit loops."""
  out = np.zeros_like(logits, dtype=np.float64)
  for b in range(logits.shape[0]):
    for node in np.unique(receivers[b]):
      edges = np.flatnonzero((receivers[b] == node) & edge_mask[b])
      if edges.size == 0:
        continue
      group = logits[b, edges].astype(np.float64)
      exp = np.exp(group - group.max(axis=0))
      out[b, edges] = exp / exp.sum(axis=0)
  return out


def _batch(heads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
  """Three graphs of 6 nodes; padded edges point at node 0; node 5 has no in-edges."""
  rng = np.random.default_rng(0)
  num_nodes, num_edges = 6, 12
  receivers = rng.integers(0, 5, size=(3, num_edges)).astype(np.int32)
  edge_mask = np.ones((3, num_edges), bool)
  edge_mask[1, 8:] = False
  edge_mask[2, 3:] = False
  receivers[~edge_mask] = 0
  logits = rng.normal(scale=3.0, size=(3, num_edges, heads)).astype(np.float32)
  logits[~edge_mask] = 50.0  # padded logits must not leak into node 0
  return logits, receivers, edge_mask, num_nodes


def test_segment_softmax_matches_dense_reference():
  logits, receivers, edge_mask, n = _batch(heads=2)
  got = np.asarray(segment.segment_softmax(jnp.asarray(logits), receivers, edge_mask, n))
  assert np.all(np.isfinite(got))
  np.testing.assert_allclose(got, _reference_softmax(logits, receivers, edge_mask), atol=1e-6)
  assert np.all(got[~edge_mask] == 0)
  # Each receiver with real in-edges sums to 1; the others get nothing.
  sums = np.asarray(segment.segment_sum(jnp.asarray(got), receivers, edge_mask, n))
  for b in range(3):
    has_edges = np.isin(np.arange(n), receivers[b][edge_mask[b]])
    np.testing.assert_allclose(sums[b][has_edges], 1.0, atol=1e-6)
    np.testing.assert_array_equal(sums[b][~has_edges], 0.0)
    assert not has_edges[5]


def test_segment_softmax_without_trailing_dims():
  logits, receivers, edge_mask, n = _batch(heads=1)
  got = np.asarray(segment.segment_softmax(jnp.asarray(logits[..., 0]), receivers, edge_mask, n))
  np.testing.assert_allclose(got, _reference_softmax(logits, receivers, edge_mask)[..., 0], atol=1e-6)


def test_segment_softmax_extreme_logits():
  receivers = np.array([[1, 1, 2, 2, 0]], np.int32)
  edge_mask = np.array([[True, True, True, True, False]])
  logits = np.array([[-3e9, -3e9, 1e4, 1e4 - 1.0, 0.0]], np.float32)
  got = np.asarray(segment.segment_softmax(jnp.asarray(logits), receivers, edge_mask, 3))
  np.testing.assert_allclose(got, _reference_softmax(logits, receivers, edge_mask), atol=1e-6)
  np.testing.assert_allclose(got[0, :2], [0.5, 0.5])


def test_segment_softmax_gradients_are_finite():
  logits, receivers, edge_mask, n = _batch(heads=2)

  def loss(x):
    return jnp.sum(segment.segment_softmax(x, receivers, edge_mask, n) * jnp.arange(x.shape[1])[None, :, None])

  grad = np.asarray(jax.grad(loss)(jnp.asarray(logits)))
  assert np.all(np.isfinite(grad))
  np.testing.assert_array_equal(grad[~edge_mask], 0.0)
