"""Diagram readability metrics: connector crossings, length, node-edge overlaps, flow direction.

The aesthetic criteria of graph drawing (Purchase, "Metrics for Graph Drawing
Aesthetics", J. Visual Languages & Computing 2002; Di Battista et al., "Graph
Drawing", 1999) measured on diagrams whose connectors are drawn as straight
segments between the centres of the boxes they join (as research.layout.render
draws them, clipped at the borders, which changes no count below).

Inputs, a padded batch of diagrams: `boxes` [B, S, 4] top-left (x, y, w, h) in
any one unit per diagram (canvas units or normalised), `mask` [B, S] bool;
`connectors` [B, M, 2] int (source, target element), `connector_mask` [B, M]
bool. Every function returns one value per diagram, [B] float64:

  connector_crossings          number of pairs of connectors whose segments cross, pairs that share an
                               element excluded (they meet at that element); collinear overlaps do not count
  connector_length             mean segment length / the diagonal of the diagram's bounding box (0 if no
                               connector): scale-free, so diagrams of any size compare
  node_connector_overlaps      number of (connector, element) pairs where the segment passes through the
                               interior of an element other than its two ends; `exclude` [B, S] bool marks
                               elements not to test (containers such as lanes hold their connectors)
  flow_direction_consistency   the largest share, over the four directions down, right, up and left, of the
                               directed connectors that point that way (positive component along it);
                               1 when every connector flows one way, NaN when there is no directed
                               connector. `directed` [B, M] bool selects them.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-9  # tolerance of the orientation and slab tests, in the boxes' unit


def _check(boxes: np.ndarray, mask: np.ndarray, connectors: np.ndarray, connector_mask: np.ndarray):
  boxes, mask = np.asarray(boxes, np.float64), np.asarray(mask, bool)
  connectors, connector_mask = np.asarray(connectors), np.asarray(connector_mask, bool)
  if boxes.ndim != 3 or boxes.shape[-1] != 4 or mask.shape != boxes.shape[:2]:
    raise ValueError(f"boxes must be [B, S, 4] with mask [B, S]; got {boxes.shape} and {mask.shape}.")
  if (
    connectors.ndim != 3
    or connectors.shape[-1] != 2
    or connectors.shape[0] != boxes.shape[0]
    or (connector_mask.shape != connectors.shape[:2])
  ):
    raise ValueError(
      f"connectors must be [B, M, 2] (source, target) with connector_mask [B, M] and B = "
      f"{boxes.shape[0]}; got {connectors.shape} and {connector_mask.shape}."
    )
  ends = np.where(connector_mask[..., None], connectors, 0)
  if np.any((ends < 0) | (ends >= boxes.shape[1])):
    raise ValueError(
      f"connector ends must index the {boxes.shape[1]} element slots; got values from {ends.min()} to {ends.max()}."
    )
  real_ends = np.take_along_axis(mask, ends.reshape(len(ends), -1), axis=1).reshape(ends.shape)
  if np.any(connector_mask & ~real_ends.all(-1)):
    raise ValueError("A connector joins a padded element slot (mask False); fix connectors or mask.")
  return boxes, mask, ends, connector_mask


def _segments(boxes: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Start and end points [B, M, 2]: the centres of each connector's source and target."""
  centres = boxes[..., :2] + boxes[..., 2:] / 2  # [B, S, 2]
  start = np.take_along_axis(centres, ends[..., 0:1].repeat(2, -1), axis=1)
  end = np.take_along_axis(centres, ends[..., 1:2].repeat(2, -1), axis=1)
  return start, end


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """z of (a - o) x (b - o), broadcast over leading axes."""
  return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def connector_crossings(boxes, mask, connectors, connector_mask) -> np.ndarray:
  """Pairs of connectors that cross (proper intersection, no shared element): [B]."""
  boxes, _, ends, connector_mask = _check(boxes, mask, connectors, connector_mask)
  p, q = _segments(boxes, ends)  # [B, M, 2]
  p1, q1, p2, q2 = p[:, :, None], q[:, :, None], p[:, None], q[:, None]  # pairs [B, M, M, 2]
  d1, d2 = _cross(p2, q2, p1), _cross(p2, q2, q1)  # sides of segment 2 that segment 1's ends lie on
  d3, d4 = _cross(p1, q1, p2), _cross(p1, q1, q2)
  proper = (d1 * d2 < -_EPS) & (d3 * d4 < -_EPS)  # [B, M, M]
  shared = (ends[:, :, None, :, None] == ends[:, None, :, None, :]).any((-1, -2))
  valid = connector_mask[:, :, None] & connector_mask[:, None, :] & ~shared
  upper = np.triu(np.ones(proper.shape[1:], bool), k=1)
  return np.sum(proper & valid & upper, axis=(1, 2)).astype(np.float64)


def connector_length(boxes, mask, connectors, connector_mask) -> np.ndarray:
  """Mean centre-to-centre connector length / the diagonal of the elements' bounding box: [B]."""
  boxes, mask, ends, connector_mask = _check(boxes, mask, connectors, connector_mask)
  p, q = _segments(boxes, ends)
  lengths = np.linalg.norm(q - p, axis=-1)  # [B, M]
  lo = np.min(np.where(mask[..., None], boxes[..., :2], np.inf), axis=1)  # [B, 2]
  hi = np.max(np.where(mask[..., None], boxes[..., :2] + boxes[..., 2:], -np.inf), axis=1)
  diagonal = np.linalg.norm(np.where(np.isfinite(hi - lo), hi - lo, 0.0), axis=-1)  # [B]
  count = connector_mask.sum(1)
  mean = np.sum(np.where(connector_mask, lengths, 0.0), axis=1) / np.maximum(count, 1)
  return np.where((count > 0) & (diagonal > 0), mean / np.where(diagonal > 0, diagonal, 1.0), 0.0)


def node_connector_overlaps(boxes, mask, connectors, connector_mask, exclude=None) -> np.ndarray:
  """(connector, element) pairs where the segment enters the element's interior, ends excluded: [B].

  Slab test: the segment p + t (q - p), t in [0, 1], meets the open box iff the
  t-intervals inside the two open slabs x0 < x < x1 and y0 < y < y1 overlap.
  """
  boxes, mask, ends, connector_mask = _check(boxes, mask, connectors, connector_mask)
  exclude = np.zeros(mask.shape, bool) if exclude is None else np.asarray(exclude, bool)
  if exclude.shape != mask.shape:
    raise ValueError(f"exclude must be [B, S] like mask {mask.shape}; got {exclude.shape}.")
  p, q = _segments(boxes, ends)
  p, d = p[:, :, None], (q - p)[:, :, None]  # [B, M, 1, 2]
  lo, hi = boxes[:, None, :, :2], boxes[:, None, :, :2] + boxes[:, None, :, 2:]  # [B, 1, S, 2]
  moving = np.abs(d) > _EPS
  safe = np.where(moving, d, 1.0)
  t_a, t_b = (lo - p) / safe, (hi - p) / safe
  t_enter = np.where(moving, np.minimum(t_a, t_b), -np.inf)
  t_leave = np.where(moving, np.maximum(t_a, t_b), np.inf)
  inside_still = moving | ((p > lo + _EPS) & (p < hi - _EPS))  # a slab a still coordinate lies in
  enter = np.maximum(t_enter.max(-1), 0.0)  # [B, M, S]
  leave = np.minimum(t_leave.min(-1), 1.0)
  hits = (leave - enter > _EPS) & inside_still.all(-1)
  element = np.arange(mask.shape[1])
  is_end = (element[None, None, :] == ends[..., 0:1]) | (element[None, None, :] == ends[..., 1:2])
  tested = mask[:, None, :] & ~exclude[:, None, :] & connector_mask[:, :, None] & ~is_end
  return np.sum(hits & tested, axis=(1, 2)).astype(np.float64)


def flow_direction_consistency(boxes, mask, connectors, connector_mask, directed=None) -> np.ndarray:
  """Largest share of directed connectors pointing one way (down, right, up or left): [B], NaN if none."""
  boxes, _, ends, connector_mask = _check(boxes, mask, connectors, connector_mask)
  directed = connector_mask if directed is None else connector_mask & np.asarray(directed, bool)
  p, q = _segments(boxes, ends)
  delta = q - p  # [B, M, 2], y down
  along = np.stack([delta[..., 1], delta[..., 0], -delta[..., 1], -delta[..., 0]], axis=-1)  # down right up left
  agree = np.sum((along > _EPS) & directed[..., None], axis=1)  # [B, 4]
  count = directed.sum(1)
  return np.where(count > 0, agree.max(-1) / np.maximum(count, 1), np.nan)
