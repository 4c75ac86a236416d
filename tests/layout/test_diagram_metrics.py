"""Diagram metrics: hand-worked diagrams and a loop formulation on random ones."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from research.layout import diagram_metrics as dm


def _batch(boxes, connectors):
  """One diagram as a batch of one: boxes [n, 4] top-left, connectors [m, 2]."""
  boxes = np.asarray(boxes, np.float64)[None]
  connectors = np.asarray(connectors, np.int64).reshape(1, -1, 2)
  return boxes, np.ones(boxes.shape[:2], bool), connectors, np.ones(connectors.shape[:2], bool)


def _unit(cx, cy):
  return [cx - 0.5, cy - 0.5, 1.0, 1.0]


def test_two_connectors_crossing_like_an_x_cross_once():
  boxes = [_unit(0, 0), _unit(10, 10), _unit(0, 10), _unit(10, 0)]
  assert dm.connector_crossings(*_batch(boxes, [[0, 1], [2, 3]]))[0] == 1
  assert dm.connector_crossings(*_batch(boxes, [[0, 1], [0, 2]]))[0] == 0  # they share element 0
  assert dm.connector_crossings(*_batch(boxes, [[0, 2], [3, 1]]))[0] == 0  # parallel


def test_a_connector_through_a_box_overlaps_it_unless_excluded():
  boxes = [_unit(0, 0), [4.0, -1.0, 2.0, 2.0], _unit(10, 0), [4.0, 3.0, 2.0, 2.0]]
  batch = _batch(boxes, [[0, 2]])
  assert dm.node_connector_overlaps(*batch)[0] == 1  # box 1 lies across the line y = 0; box 3 does not
  assert dm.node_connector_overlaps(*batch, exclude=np.array([[False, True, False, False]]))[0] == 0
  grazing = _batch([_unit(0, 0), [4.0, 0.0, 2.0, 2.0], _unit(10, 0)], [[0, 2]])  # y = 0 is box 1's top edge
  assert dm.node_connector_overlaps(*grazing)[0] == 0


def test_connector_length_is_relative_to_the_diagram_diagonal():
  batch = _batch([[0.0, 0.0, 2.0, 2.0], [6.0, 6.0, 2.0, 2.0]], [[0, 1]])  # centres (1, 1) and (7, 7)
  assert dm.connector_length(*batch)[0] == pytest.approx(np.hypot(6, 6) / np.hypot(8, 8))


def test_flow_direction_consistency_is_the_share_of_the_dominant_direction():
  boxes = [_unit(0, 0), _unit(0, 5), _unit(0, 10), _unit(3, 10)]
  batch = _batch(boxes, [[0, 1], [1, 2], [2, 0], [1, 3]])  # down, down, up, down-right
  assert dm.flow_direction_consistency(*batch)[0] == pytest.approx(3 / 4)
  directed = np.array([[True, True, False, False]])
  assert dm.flow_direction_consistency(*batch, directed=directed)[0] == 1.0
  assert np.isnan(dm.flow_direction_consistency(*batch, directed=np.zeros((1, 4), bool))[0])


def _proper_cross(a, b, c, d) -> bool:
  def orient(o, p, q):
    return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0])

  return orient(c, d, a) * orient(c, d, b) < 0 and orient(a, b, c) * orient(a, b, d) < 0


def _segment_enters_box(a, b, box) -> bool:
  x0, y0, w, h = box
  inside = lambda p: x0 < p[0] < x0 + w and y0 < p[1] < y0 + h
  corners = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
  return inside(a) or inside(b) or any(_proper_cross(a, b, corners[k], corners[(k + 1) % 4]) for k in range(4))


def test_vectorised_metrics_match_loops_on_random_padded_diagrams():
  rng = np.random.default_rng(0)
  B, S, M = 6, 9, 12
  boxes = np.concatenate([rng.uniform(0, 100, (B, S, 2)), rng.uniform(2, 25, (B, S, 2))], axis=-1)
  mask = rng.random((B, S)) < 0.8
  mask[:, :2] = True
  connectors = np.zeros((B, M, 2), np.int64)
  connector_mask = rng.random((B, M)) < 0.8
  for b in range(B):
    real = np.flatnonzero(mask[b])
    connectors[b] = [rng.choice(real, 2, replace=False) for _ in range(M)]
  boxes[~mask] = rng.normal(size=4) * 1e3  # garbage in padding
  crossings = dm.connector_crossings(boxes, mask, connectors, connector_mask)
  overlaps = dm.node_connector_overlaps(boxes, mask, connectors, connector_mask)
  for b in range(B):
    centre = lambda i: boxes[b, i, :2] + boxes[b, i, 2:] / 2
    segments = [
      (tuple(connectors[b, m]), centre(connectors[b, m, 0]), centre(connectors[b, m, 1]))
      for m in range(M)
      if connector_mask[b, m]
    ]
    expected = sum(
      _proper_cross(p1, q1, p2, q2)
      for (e1, p1, q1), (e2, p2, q2) in itertools.combinations(segments, 2)
      if not set(e1) & set(e2)
    )
    assert crossings[b] == expected
    expected = sum(
      _segment_enters_box(p, q, boxes[b, i])
      for ends, p, q in segments
      for i in np.flatnonzero(mask[b])
      if i not in ends
    )
    assert overlaps[b] == expected


def test_connectors_to_padding_or_out_of_range_are_refused():
  boxes, mask, connectors, connector_mask = _batch([_unit(0, 0), _unit(1, 1)], [[0, 1]])
  with pytest.raises(ValueError, match="index the 2 element slots"):
    dm.connector_crossings(boxes, mask, connectors + 1, connector_mask)
  with pytest.raises(ValueError, match="joins a padded element slot"):
    dm.connector_length(boxes, np.array([[True, False]]), connectors, connector_mask)
