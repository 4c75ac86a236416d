"""Box formats and box geometry: conversions, canvas normalisation, clipping, validity, area and IoU.

Formats, named by the four values on the last axis (y grows downwards, as on a screen, so the top
edge has the smaller y):

- `cxcywh`: centre x, centre y, width, height. The package default, normalised to [0, 1]; LayoutGAN++
  (const_layout), BLT and LayoutDM store boxes this way and call it "xywh".
- `ltrb`: left, top, right, bottom (x1, y1, x2, y2). RICO's `bounds`; the format of every geometric
  function below.
- `ltwh`: left, top, width, height. COCO's `bbox` (PubLayNet) and LayoutTransformer's tokens.

Conversions (`<source>_to_<target>`, or `convert(boxes, source, target)`):
  l = cx - w/2, t = cy - h/2, r = cx + w/2, b = cy + h/2;  cx = (l + r)/2, cy = (t + b)/2, w = r - l, h = b - t.

Canvas: `normalize` divides x-values by the canvas width W and y-values by its height H (the same for all
three formats, since each value is a position or a length along one axis); `denormalize` multiplies back.

Validity (`valid_boxes`) is the element filter of the RICO and PubLayNet preprocessing in LayoutGAN++
(const_layout data/rico.py, data/publaynet.py) and LayoutDM (layout-dm datasets/rico.py, publaynet.py):
an element is kept iff 0 <= l, 0 <= t, r <= W, b <= H (inside the canvas) and r > l, b > t (positive
width and height).

Area, intersection and IoU, for boxes i and j:
  A_i = max(r_i - l_i, 0) * max(b_i - t_i, 0)
  I_ij = max(min(r_i, r_j) - max(l_i, l_j), 0) * max(min(b_i, b_j) - max(t_i, t_j), 0)
  IoU_ij = I_ij / (A_i + A_j - I_ij), and 0 where the union is 0 (two zero-area boxes), so zero-area and
  inverted boxes give IoU 0, never NaN.
Padded slots are not special here: they get whatever their stored boxes give, and callers mask them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

BoxFormat = Literal["cxcywh", "ltrb", "ltwh"]
BOX_FORMATS = ("cxcywh", "ltrb", "ltwh")


def as_boxes(boxes: ArrayLike, name: str = "boxes") -> np.ndarray:
  """`boxes` as a float array [..., 4] (float32 stays float32; integers become float64)."""
  boxes = np.asarray(boxes)
  if boxes.ndim == 0 or boxes.shape[-1] != 4:
    raise ValueError(
      f"{name} must have 4 values on the last axis, got shape {boxes.shape}; pass boxes as [..., 4] arrays."
    )
  return boxes.astype(np.result_type(boxes.dtype, np.float32), copy=False)


def _columns(boxes: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  values = as_boxes(boxes)
  return values[..., 0], values[..., 1], values[..., 2], values[..., 3]


def cxcywh_to_ltrb(boxes: ArrayLike) -> np.ndarray:
  """(cx, cy, w, h) [..., 4] -> (l, t, r, b) [..., 4]."""
  cx, cy, w, h = _columns(boxes)
  return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def ltrb_to_cxcywh(boxes: ArrayLike) -> np.ndarray:
  """(l, t, r, b) [..., 4] -> (cx, cy, w, h) [..., 4]."""
  left, top, right, bottom = _columns(boxes)
  return np.stack([(left + right) / 2, (top + bottom) / 2, right - left, bottom - top], axis=-1)


def ltwh_to_ltrb(boxes: ArrayLike) -> np.ndarray:
  """(l, t, w, h) [..., 4] -> (l, t, r, b) [..., 4]."""
  left, top, w, h = _columns(boxes)
  return np.stack([left, top, left + w, top + h], axis=-1)


def ltrb_to_ltwh(boxes: ArrayLike) -> np.ndarray:
  """(l, t, r, b) [..., 4] -> (l, t, w, h) [..., 4]."""
  left, top, right, bottom = _columns(boxes)
  return np.stack([left, top, right - left, bottom - top], axis=-1)


def cxcywh_to_ltwh(boxes: ArrayLike) -> np.ndarray:
  """(cx, cy, w, h) [..., 4] -> (l, t, w, h) [..., 4]."""
  cx, cy, w, h = _columns(boxes)
  return np.stack([cx - w / 2, cy - h / 2, w, h], axis=-1)


def ltwh_to_cxcywh(boxes: ArrayLike) -> np.ndarray:
  """(l, t, w, h) [..., 4] -> (cx, cy, w, h) [..., 4]."""
  left, top, w, h = _columns(boxes)
  return np.stack([left + w / 2, top + h / 2, w, h], axis=-1)


_CONVERTERS = {
  ("cxcywh", "ltrb"): cxcywh_to_ltrb,
  ("ltrb", "cxcywh"): ltrb_to_cxcywh,
  ("ltwh", "ltrb"): ltwh_to_ltrb,
  ("ltrb", "ltwh"): ltrb_to_ltwh,
  ("cxcywh", "ltwh"): cxcywh_to_ltwh,
  ("ltwh", "cxcywh"): ltwh_to_cxcywh,
}


def convert(boxes: ArrayLike, source: BoxFormat, target: BoxFormat) -> np.ndarray:
  """Boxes [..., 4] from format `source` to format `target` (a float copy when they are equal)."""
  for fmt in (source, target):
    if fmt not in BOX_FORMATS:
      raise ValueError(f"Unknown box format {fmt!r}; choose one of {BOX_FORMATS}.")
  if source == target:
    return as_boxes(boxes).copy()
  return _CONVERTERS[(source, target)](boxes)


def _canvas_scale(boxes: np.ndarray, width: ArrayLike, height: ArrayLike) -> np.ndarray:
  """(W, H, W, H) shaped to broadcast against boxes [..., S, 4]: [4] for one canvas, [..., 1, 4] per layout."""
  layout_shape = boxes.shape[:-2]
  sides = []
  for name, side in (("width", width), ("height", height)):
    side = np.asarray(side, boxes.dtype)
    if side.shape not in ((), layout_shape):
      raise ValueError(f"{name} has shape {side.shape}; pass a scalar or one value per layout, shape {layout_shape}.")
    if not np.all(np.isfinite(side) & (side > 0)):
      raise ValueError(f"Canvas {name} must be > 0 (and finite), got {side}.")
    sides.append(side)
  w, h = np.broadcast_arrays(*sides)
  scale = np.stack([w, h, w, h], axis=-1)  # [4] or [..., 4]
  return scale if scale.ndim == 1 else scale[..., None, :]


def normalize(boxes: ArrayLike, width: ArrayLike, height: ArrayLike) -> np.ndarray:
  """Boxes in canvas units [..., S, 4] (any format) -> fractions of the canvas.

  Args:
    boxes: [..., S, 4] cxcywh, ltrb or ltwh boxes in canvas units (e.g. pixels).
    width: canvas width, a scalar or one per layout ([...], e.g. [B]).
    height: canvas height, same shapes as width.
  """
  boxes = as_boxes(boxes)
  return boxes / _canvas_scale(boxes, width, height)


def denormalize(boxes: ArrayLike, width: ArrayLike, height: ArrayLike) -> np.ndarray:
  """Normalised boxes [..., S, 4] (any format) -> canvas units; the inverse of `normalize`."""
  boxes = as_boxes(boxes)
  return boxes * _canvas_scale(boxes, width, height)


def clip_to_canvas(boxes_ltrb: ArrayLike, width: ArrayLike = 1.0, height: ArrayLike = 1.0) -> np.ndarray:
  """ltrb boxes [..., S, 4] with every edge clipped into the canvas [0, W] x [0, H] (default: normalised)."""
  boxes = as_boxes(boxes_ltrb, "boxes_ltrb")
  return np.clip(boxes, 0, _canvas_scale(boxes, width, height))


def valid_boxes(
  boxes_ltrb: ArrayLike, width: ArrayLike = 1.0, height: ArrayLike = 1.0, tolerance: float = 0.0
) -> np.ndarray:
  """Which boxes lie inside the canvas and have positive width and height (LayoutGAN++/LayoutDM filter).

  Args:
    boxes_ltrb: [..., S, 4] ltrb boxes, in canvas units or normalised (then leave width = height = 1).
    width: canvas width, a scalar or one per layout ([...]).
    height: canvas height, same shapes as width.
    tolerance: how far (in the boxes' units) an edge may stick out of the canvas; 0 is the official filter.

  Returns:
    [..., S] bool: -tol <= l, -tol <= t, r <= W + tol, b <= H + tol, r > l and b > t. NaN boxes are invalid.
  """
  if not tolerance >= 0:
    raise ValueError(f"tolerance must be >= 0, got {tolerance}.")
  boxes = as_boxes(boxes_ltrb, "boxes_ltrb")
  far_edges = _canvas_scale(boxes, width, height)[..., 2:]  # (W, H)
  left_top, right_bottom = boxes[..., :2], boxes[..., 2:]
  inside = np.all((left_top >= -tolerance) & (right_bottom <= far_edges + tolerance), axis=-1)
  return inside & np.all(right_bottom > left_top, axis=-1)


def area(boxes_ltrb: ArrayLike) -> np.ndarray:
  """Areas [...] of ltrb boxes [..., 4]; inverted boxes (r < l or b < t) have area 0."""
  left, top, right, bottom = _columns(boxes_ltrb)
  return np.maximum(right - left, 0) * np.maximum(bottom - top, 0)


def _pair_axes(boxes_a: ArrayLike, boxes_b: ArrayLike | None) -> tuple[np.ndarray, np.ndarray]:
  """boxes_a [..., Sa, 4] -> [..., Sa, 1, 4] and boxes_b (default: boxes_a) [..., Sb, 4] -> [..., 1, Sb, 4]."""
  a = as_boxes(boxes_a, "boxes_a")
  b = a if boxes_b is None else as_boxes(boxes_b, "boxes_b")
  for name, value in (("boxes_a", a), ("boxes_b", b)):
    if value.ndim < 2:
      raise ValueError(f"{name} must be a set of boxes [..., S, 4], got shape {value.shape}.")
  return a[..., :, None, :], b[..., None, :, :]


def _intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
  """I_ij [..., Sa, Sb] of ltrb boxes a [..., Sa, 1, 4] and b [..., 1, Sb, 4]."""
  left_top = np.maximum(a[..., :2], b[..., :2])  # [..., Sa, Sb, 2]
  right_bottom = np.minimum(a[..., 2:], b[..., 2:])
  sides = np.maximum(right_bottom - left_top, 0)
  return sides[..., 0] * sides[..., 1]


def pairwise_intersection(boxes_a: ArrayLike, boxes_b: ArrayLike | None = None) -> np.ndarray:
  """Intersection areas I_ij [..., Sa, Sb] of ltrb boxes_a [..., Sa, 4] and boxes_b [..., Sb, 4].

  boxes_b defaults to boxes_a ([B, S, 4] -> [B, S, S]); leading axes broadcast.
  """
  return _intersection(*_pair_axes(boxes_a, boxes_b))


def pairwise_iou(boxes_a: ArrayLike, boxes_b: ArrayLike | None = None) -> np.ndarray:
  """IoU [..., Sa, Sb] of ltrb boxes_a [..., Sa, 4] and boxes_b [..., Sb, 4] (default boxes_a).

  0 where the union is 0 (two zero-area boxes), so zero-area boxes never give NaN.
  """
  a, b = _pair_axes(boxes_a, boxes_b)  # [..., Sa, 1, 4], [..., 1, Sb, 4]
  inter = _intersection(a, b)  # [..., Sa, Sb]
  union = area(a) + area(b) - inter  # >= max(A_i, A_j) >= 0
  return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
