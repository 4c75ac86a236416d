"""Layout quality metrics: alignment, overlap, IoU, Maximum IoU and relation violations.

Every metric takes a padded batch (see `research.layout`): `boxes` [B, S, 4]
normalised centre boxes (cx, cy, w, h), `mask` [B, S] bool and, where classes
matter, `labels` [B, S] int. Padded slots may hold anything: they are read as
the all-zero box, which is what the official code's `to_dense_batch` padding
holds. Metrics return one value per layout ([B], float64, unscaled);
`batch_mean` averages them the way each evaluator does. All arithmetic runs in
float64, so results can differ from the float32 reference code in the last
float32 digits and, for the rasterised and thresholded metrics, at exact ties.

Several papers share a metric name but not its formula. Each function is named
after the paper that defines the variant. The reference code is layout-dm's
`helpers/metric.py` (LayoutDM, Inoue et al. CVPR'23, which returns every variant),
const_layout's `metric.py` (LayoutGAN++, Kikuchi et al. ACM MM'21), layout-blt's
`utils/metrics.py` (BLT, Kong et al. ECCV'22) and LayoutFormer++'s
`evaluation/metrics.py` and `tasks/gen_r.py` (Jiang et al. CVPR'23).

Alignment. With c_i^k the k-th of (left, centre x, right, top, centre y,
bottom) of element i, d_i = min_{j != i} min_k |c_i^k - c_j^k|, and d_i = 0 when
no partner exists (the reference code marks missing partners with 1 and then
maps d == 1 to 0, which also zeroes a genuine gap of exactly 1):
  alignment_layoutganpp  (1/N) sum_i -log(1 - d_i)      LayoutGAN++ (layout-dm: alignment-LayoutGAN++)
  alignment_aclayoutgan  sum_i -log(1 - d_i)            ACLayoutGAN, Li et al. TVCG'20 (layout-dm)
  alignment_ndn          sum_i d_i, k over x only       NDN, Lee et al. ECCV'20 (layout-dm: alignment-NDN)
  alignment_blt          sum_i min_{j != i} min over (top-left, centre, bottom-right) of the mean of
                         |dx| and |dy|, on BLT's 32-grid, no log, no 1/N        BLT (layout-blt)
`mask_padded_partners=True` keeps padded slots out of the partners j, as
const_layout does since commit 2894785 (Sep 2022). False reproduces layout-dm
and LayoutFormer++, which only mask the rows i: padded slots then act as
all-zero boxes that any element with an edge or centre at 0 aligns with.

Overlap. With A(i) the area of element i and A(i & j) the intersection area:
  overlap_layoutganpp   (1/N) sum_i sum_{j != i} A(i & j) / A(i)   LayoutGAN++ (layout-dm: overlap-LayoutGAN++)
  overlap_aclayoutgan   sum_i sum_{j != i} A(i & j) / A(i)         ACLayoutGAN (layout-dm: overlap-ACLayoutGAN)
  overlap_layoutgan     sum_{i < j} A(i & j)                       LayoutGAN, Li et al. ICLR'19 (layout-dm)
  overlap_blt           sum_{i < j} A(i & j) on BLT's 32-grid      BLT (layout-blt get_overlap_index)
A zero-area element i gives 0/0 in A(i & j) / A(i); the reference code maps the
NaN to 0 (`nan_to_num`), so zero-area elements add nothing. `ignore_labels`
drops elements of the given classes before anything is computed, so N counts
only the kept ones: LayoutFormer++'s `overlap_ignore_bg` drops the RICO classes
in `LAYOUTFORMERPP_RICO_BACKGROUND_CLASSES` (its label ids 4, 9, 11, 17).

IoU. IoU(i, j) = A(i & j) / (A(i) + A(j) - A(i & j)), taken as 0 where the union
is 0 (the reference code divides 0 by 0 there):
  mean_iou_vtn             mean of IoU(i, j) over pairs with IoU > float32 eps; 0 if none
                           VTN, Arroyo et al. CVPR'21 (layout-dm: average_iou-VTN)
  perceptual_iou_blt       cells covered by >= 2 elements / cells covered by >= 1, boxes
                           rasterised on BLT's 32 x 32 grid     BLT (layout-blt get_layout_iou)
  perceptual_iou_layoutdm  mean over pairs of A(i & j) / U with U the rasterised union of all
                           elements on a 32 x 32 canvas, pairs with ratio > float32 eps
                           layout-dm's reading of BLT (layout-dm: average_iou-BLT)
  maximum_iou_layoutganpp  LayoutGAN++'s Maximum IoU between two sets of layouts (see its docstring)

Relations. `relation_violations` and `violation_rate_layoutganpp` check size
and position relations (`Relation`) with const_layout's thresholds, as
LayoutGAN++'s violation metric and layout-dm's `compute_violation` do.

Scaling. LayoutGAN++ reports Alignment x 100 and Overlap x 100 (its Table 3;
const_layout's eval.py multiplies both). LayoutDM reports the LayoutGAN++
variants with Alignment x 100 and Overlap unscaled (its appendix B.5; stated by
the authors in layout-dm issues #23 and #33). The functions here never scale.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from research.layout import boxes as boxes_lib

BLT_RESOLUTION = 32  # BLT's grid: 32 bins per axis, for tokens and for the IoU raster.
LAYOUTDM_RASTER_RESOLUTION = 32  # layout-dm's canvas for its reading of BLT's IoU.
RELATION_SIZE_TOLERANCE = 0.1  # const_layout REL_SIZE_ALPHA: areas within +-10 % are "equal".
CANVAS_INDEX = -1  # `relations[..., 0]` value naming the canvas (0.5, 0.5, 1, 1) as the first element.
LAYOUTFORMERPP_RICO_BACKGROUND_CLASSES = ("List Item", "Card", "Background Image", "Modal")

_FLOAT32_EPS = float(np.finfo(np.float32).eps)  # layout-dm's threshold for "overlapping" pairs.
_CANVAS_BOX = np.array([0.5, 0.5, 1.0, 1.0])
_LABEL_FILL = np.iinfo(np.int64).max  # sorts after every real label.
_NAN_POLICIES = ("raise", "omit", "zero")


class Relation(enum.IntEnum):
  """Relation of a second element to a first one, numbered as const_layout's RelSize / RelLoc.

  Size: SMALLER if A2 <= 0.9 A1, EQUAL if 0.9 A1 < A2 < 1.1 A1, else LARGER.
  Position between elements, tested in this order: TOP if the second lies above
  (bottom2 <= top1), BOTTOM if below, LEFT if left of it (right2 <= left1),
  RIGHT if right of it, else CENTER. Against the canvas only the vertical
  third of the second element's centre counts: TOP if cy <= 1/3, CENTER if
  1/3 < cy < 2/3, BOTTOM if cy >= 2/3 (layout-dm tests cy < 1/3 instead, so a
  centre exactly at 1/3 is CENTER there).
  """

  SMALLER = 1
  EQUAL = 2
  LARGER = 3
  LEFT = 5
  TOP = 6
  RIGHT = 7
  BOTTOM = 8
  CENTER = 9


_SIZE_RELATIONS = (Relation.SMALLER, Relation.EQUAL, Relation.LARGER)
_CANVAS_RELATIONS = _SIZE_RELATIONS + (Relation.TOP, Relation.CENTER, Relation.BOTTOM)


# ---------------------------------------------------------------- inputs and boxes


def _check_layouts(boxes: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Validates a padded batch; returns float64 boxes with padded slots zeroed, and the mask."""
  boxes = np.asarray(boxes, np.float64)
  mask = np.asarray(mask)
  if boxes.ndim != 3 or boxes.shape[-1] != 4:
    raise ValueError(f"boxes must have shape [B, S, 4] (normalised cx, cy, w, h); got {boxes.shape}.")
  if mask.shape != boxes.shape[:2]:
    raise ValueError(f"mask must have shape [B, S] = {boxes.shape[:2]} to match boxes; got {mask.shape}.")
  if mask.dtype != np.bool_:
    raise ValueError(f"mask must be boolean (True = real element); got dtype {mask.dtype}. Pass mask.astype(bool).")
  real = boxes[mask]  # [N_total, 4]
  if not np.isfinite(real).all():
    raise ValueError(f"boxes of real elements must be finite; {int((~np.isfinite(real)).any(-1).sum())} are not.")
  if real.size and real[:, 2:].min() < 0:
    raise ValueError(
      f"widths and heights must be >= 0; the smallest is {real[:, 2:].min()}. "
      "Boxes are (cx, cy, w, h); convert (left, top, right, bottom) boxes first."
    )
  return np.where(mask[..., None], boxes, 0.0), mask


def _check_labels(labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
  labels = np.asarray(labels)
  if labels.shape != mask.shape or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be integers of shape [B, S] = {mask.shape}; got {labels.dtype} {labels.shape}.")
  return labels.astype(np.int64)


def _check_resolution(resolution: int) -> None:
  if int(resolution) != resolution or resolution < 2:
    raise ValueError(f"resolution={resolution} must be an integer >= 2 (grid cells per axis).")


def _distinct_pairs(rows: np.ndarray, partners: np.ndarray) -> np.ndarray:
  """[B, S] x [B, S] -> [B, S, S]: row i and partner j are both usable and i != j."""
  off_diagonal = ~np.eye(rows.shape[-1], dtype=bool)
  return rows[:, :, None] & partners[:, None, :] & off_diagonal


def _per_element(total: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """total / N per layout, 0 for an empty layout (layout-dm's NaN -> 0)."""
  count = mask.sum(-1)
  return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def _keep_labels(mask: np.ndarray, labels: np.ndarray | None, ignore_labels: Sequence[int]) -> np.ndarray:
  """The mask without the elements whose class is in `ignore_labels`."""
  if len(ignore_labels) == 0:
    return mask
  if labels is None:
    raise ValueError(f"ignore_labels={tuple(ignore_labels)} needs labels [B, S] to know which elements to drop.")
  return mask & ~np.isin(_check_labels(labels, mask), np.asarray(ignore_labels, np.int64))


def _blt_bins(boxes: np.ndarray, resolution: int) -> np.ndarray:
  """BLT's tokens: round(v * (R - 1)) after clamping to [0, 1], sizes clipped to [1, R - 1] bins."""
  _check_resolution(resolution)
  steps = resolution - 1
  clamped = np.clip(boxes, 0.0, 1.0)
  centre = np.rint(clamped[..., :2] * steps)
  size = np.rint(np.clip(clamped[..., 2:] * steps, 1.0, steps))
  return np.concatenate([centre, size], axis=-1)


def blt_grid_boxes(boxes: np.ndarray, resolution: int = BLT_RESOLUTION) -> np.ndarray:
  """Boxes as BLT's metrics see them: snapped to BLT's tokens, then divided by the resolution.

  BLT (layout-blt `input_pipeline.py`) clamps coordinates to [0, 1] and stores
  round(v * (R - 1)) bins, sizes at least one bin; its metrics divide the bins
  by R (`normalize_bbox`). Rounding is half to even, as Python's `round`.

  Args:
    boxes: [..., 4] normalised (cx, cy, w, h).
    resolution: bins per axis, R.

  Returns:
    [..., 4] float64 (cx, cy, w, h) on BLT's grid.
  """
  return _blt_bins(np.asarray(boxes, np.float64), resolution) / resolution


def _raster_counts(low: np.ndarray, high: np.ndarray, mask: np.ndarray, resolution: int) -> np.ndarray:
  """How many real elements cover each cell of an R x R raster.

  Args:
    low: [B, S, 2] first covered cell (x, y); high: [B, S, 2] one past the last one.
    mask: [B, S] real elements.
    resolution: R.

  Returns:
    [B, R, R] float64 counts.
  """
  cells = np.arange(resolution)
  covered = (cells >= np.clip(low, 0, resolution)[..., None]) & (cells < np.clip(high, 0, resolution)[..., None])
  covered &= mask[..., None, None]  # [B, S, 2, R]
  return np.einsum("bsx,bsy->bxy", covered[:, :, 0].astype(np.float64), covered[:, :, 1].astype(np.float64))


# ---------------------------------------------------------------- alignment


def _alignment_coordinates(boxes: np.ndarray) -> np.ndarray:
  """[B, S, 4] -> [B, S, 6]: left, centre x, right, top, centre y, bottom."""
  ltrb = boxes_lib.cxcywh_to_ltrb(boxes)
  return np.stack([ltrb[..., 0], boxes[..., 0], ltrb[..., 2], ltrb[..., 1], boxes[..., 1], ltrb[..., 3]], axis=-1)


def _nearest_alignment_gap(coordinates: np.ndarray, rows: np.ndarray, partners: np.ndarray) -> np.ndarray:
  """d_i = min over partners j != i and coordinates k of |c_i^k - c_j^k|, [B, S].

  Excluded entries count as 1 and d == 1 becomes 0, as in the reference code:
  rows without a partner, and padded rows, get 0.
  """
  gaps = np.abs(coordinates[:, :, None, :] - coordinates[:, None, :, :])  # [B, S, S, K]
  gaps = np.where(_distinct_pairs(rows, partners)[..., None], gaps, 1.0)
  nearest = gaps.min(axis=(2, 3), initial=1.0)  # [B, S]
  return np.where(nearest == 1.0, 0.0, nearest)


def _alignment_log_terms(boxes: np.ndarray, mask: np.ndarray, mask_padded_partners: bool) -> np.ndarray:
  """-log(1 - d_i) per element, [B, S]; 0 on padded rows."""
  partners = mask if mask_padded_partners else np.ones_like(mask)
  gap = _nearest_alignment_gap(_alignment_coordinates(boxes), mask, partners)
  return -np.log1p(-gap)


def alignment_layoutganpp(boxes: np.ndarray, mask: np.ndarray, *, mask_padded_partners: bool = True) -> np.ndarray:
  """LayoutGAN++ alignment: (1/N) sum_i -log(1 - d_i), [B]; lower is better.

  Args:
    boxes: [B, S, 4] normalised (cx, cy, w, h).
    mask: [B, S] real elements.
    mask_padded_partners: True (const_layout since Sep 2022) keeps padded slots
      out of the partners; False reproduces layout-dm and LayoutFormer++, where
      each padded slot is an all-zero partner box. layout-dm pads each batch
      only to its longest layout, so to match it exactly trim S to that length.

  Returns:
    [B] float64; 0 for N <= 1 (an empty layout gives 0 as in layout-dm, NaN in const_layout).
  """
  boxes, mask = _check_layouts(boxes, mask)
  return _per_element(_alignment_log_terms(boxes, mask, mask_padded_partners).sum(-1), mask)


def alignment_aclayoutgan(boxes: np.ndarray, mask: np.ndarray, *, mask_padded_partners: bool = True) -> np.ndarray:
  """ACLayoutGAN alignment as layout-dm computes it: sum_i -log(1 - d_i), [B] (no 1/N).

  `mask_padded_partners=False` reproduces layout-dm (see `alignment_layoutganpp`).
  """
  boxes, mask = _check_layouts(boxes, mask)
  return _alignment_log_terms(boxes, mask, mask_padded_partners).sum(-1)


def alignment_ndn(boxes: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """NDN alignment as layout-dm computes it: sum_i d_i over left, centre and right x only, [B].

  No log and no 1/N; padded slots are never partners.
  """
  boxes, mask = _check_layouts(boxes, mask)
  horizontal = _alignment_coordinates(boxes)[..., :3]  # [B, S, 3]
  return _nearest_alignment_gap(horizontal, mask, mask).sum(-1)


def alignment_blt(boxes: np.ndarray, mask: np.ndarray, *, resolution: int = BLT_RESOLUTION) -> np.ndarray:
  """BLT alignment (layout-blt `get_alignment_loss`), [B].

  On `blt_grid_boxes`: sum_i min_{j != i} min(mean(|dl|, |dt|), mean(|dcx|, |dcy|),
  mean(|dr|, |db|)), with no log and no 1/N. BLT returns -1 for N <= 1; this
  returns NaN there. BLT's evaluator averages only the layouts whose value is
  > 0, which also drops perfectly aligned ones:
  `batch_mean(np.where(v > 0, v, np.nan), nan="omit")` reproduces it.
  """
  boxes, mask = _check_layouts(boxes, mask)
  grid = blt_grid_boxes(boxes, resolution)
  ltrb = boxes_lib.cxcywh_to_ltrb(grid)
  anchors = np.stack([ltrb[..., :2], grid[..., :2], ltrb[..., 2:]], axis=-2)  # [B, S, 3, 2]
  gaps = np.abs(anchors[:, :, None] - anchors[:, None, :]).mean(-1)  # [B, S, S, 3]
  gaps = np.where(_distinct_pairs(mask, mask)[..., None], gaps, np.inf)
  nearest = gaps.min(axis=(2, 3), initial=np.inf)  # [B, S]
  total = np.where(mask, nearest, 0.0).sum(-1)
  return np.where(mask.sum(-1) > 1, total, np.nan)


# ---------------------------------------------------------------- overlap


def _overlap_ratios(boxes: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """A(i & j) / A(i) for distinct real elements, [B, S, S]; 0 where A(i) = 0."""
  ltrb = boxes_lib.cxcywh_to_ltrb(boxes)
  intersection = np.where(_distinct_pairs(mask, mask), boxes_lib.pairwise_intersection(ltrb, ltrb), 0.0)
  area = np.broadcast_to(boxes_lib.area(ltrb)[..., None], intersection.shape)
  return np.divide(intersection, area, out=np.zeros_like(intersection), where=area > 0)


def _pair_intersections(boxes: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """sum_{i < j} A(i & j) over real elements, [B]."""
  ltrb = boxes_lib.cxcywh_to_ltrb(boxes)
  upper = np.triu(np.ones(mask.shape[-1:] * 2, dtype=bool), k=1)
  pairs = mask[:, :, None] & mask[:, None, :] & upper  # [B, S, S]
  return np.where(pairs, boxes_lib.pairwise_intersection(ltrb, ltrb), 0.0).sum((1, 2))


def overlap_layoutganpp(
  boxes: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *, ignore_labels: Sequence[int] = ()
) -> np.ndarray:
  """LayoutGAN++ overlap: (1/N) sum_i sum_{j != i} A(i & j) / A(i), [B]; lower is better.

  Args:
    boxes: [B, S, 4] normalised (cx, cy, w, h).
    mask: [B, S] real elements.
    labels: [B, S] classes; needed only with `ignore_labels`.
    ignore_labels: classes dropped before computing (N counts the kept ones).

  Returns:
    [B] float64; 0 for N <= 1.
  """
  boxes, mask = _check_layouts(boxes, mask)
  mask = _keep_labels(mask, labels, ignore_labels)
  return _per_element(_overlap_ratios(boxes, mask).sum((1, 2)), mask)


def overlap_aclayoutgan(
  boxes: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *, ignore_labels: Sequence[int] = ()
) -> np.ndarray:
  """ACLayoutGAN overlap: sum_i sum_{j != i} A(i & j) / A(i), [B] (no 1/N)."""
  boxes, mask = _check_layouts(boxes, mask)
  mask = _keep_labels(mask, labels, ignore_labels)
  return _overlap_ratios(boxes, mask).sum((1, 2))


def overlap_layoutgan(
  boxes: np.ndarray, mask: np.ndarray, labels: np.ndarray | None = None, *, ignore_labels: Sequence[int] = ()
) -> np.ndarray:
  """LayoutGAN overlap: sum_{i < j} A(i & j) in canvas units, [B]."""
  boxes, mask = _check_layouts(boxes, mask)
  return _pair_intersections(boxes, _keep_labels(mask, labels, ignore_labels))


def overlap_blt(
  boxes: np.ndarray,
  mask: np.ndarray,
  labels: np.ndarray | None = None,
  *,
  ignore_labels: Sequence[int] = (),
  resolution: int = BLT_RESOLUTION,
) -> np.ndarray:
  """BLT overlap (layout-blt `get_overlap_index`): sum_{i < j} A(i & j) on `blt_grid_boxes`, [B].

  BLT's evaluator averages it over all layouts (`batch_mean`).
  """
  boxes, mask = _check_layouts(boxes, mask)
  return _pair_intersections(blt_grid_boxes(boxes, resolution), _keep_labels(mask, labels, ignore_labels))


# ---------------------------------------------------------------- IoU


def _mean_over_counted(values: np.ndarray, counted: np.ndarray) -> np.ndarray:
  """Per-layout mean of values [B, S, S] where counted [B, S, S]; 0 where nothing is counted."""
  count = counted.sum((1, 2))
  total = np.where(counted, values, 0.0).sum((1, 2))
  return np.where(count > 0, total / np.maximum(count, 1), 0.0)


def mean_iou_vtn(boxes: np.ndarray, mask: np.ndarray) -> np.ndarray:
  """VTN mean IoU over overlapping pairs (layout-dm average_iou-VTN), [B]; lower is better.

  Pairs (i, j) and (j, i) both count, as in layout-dm; pairs whose IoU is not
  above float32 eps are left out; 0 when no pair overlaps (and for N <= 1).
  """
  boxes, mask = _check_layouts(boxes, mask)
  ltrb = boxes_lib.cxcywh_to_ltrb(boxes)
  iou = boxes_lib.pairwise_iou(ltrb, ltrb)  # [B, S, S]
  return _mean_over_counted(iou, _distinct_pairs(mask, mask) & (iou > _FLOAT32_EPS))


def perceptual_iou_blt(boxes: np.ndarray, mask: np.ndarray, *, resolution: int = BLT_RESOLUTION) -> np.ndarray:
  """BLT's perceptual IoU (layout-blt `get_layout_iou`), [B]; lower is better.

  Each element of `blt_grid_boxes` covers cells round(c - s/2 + 1e-4) up to
  round(c + s/2 + 1e-4) (exclusive) per axis, in bins. The score is the number
  of cells covered by at least two elements over the number covered by at
  least one; 0 for an empty raster. Cell ranges are clipped to the canvas;
  BLT's slicing instead wraps a negative start (an element hanging over the
  left or top edge then covers nothing or a wrong stripe).
  """
  boxes, mask = _check_layouts(boxes, mask)
  bins = _blt_bins(boxes, resolution)
  low = np.rint(bins[..., :2] - bins[..., 2:] / 2 + 1e-4)
  high = np.rint(bins[..., :2] + bins[..., 2:] / 2 + 1e-4)
  counts = _raster_counts(low, high, mask, resolution)  # [B, R, R]
  covered = (counts >= 1).sum((1, 2))
  shared = (counts >= 2).sum((1, 2))
  return np.where(covered > 0, shared / np.maximum(covered, 1), 0.0)


def perceptual_iou_layoutdm(
  boxes: np.ndarray, mask: np.ndarray, *, resolution: int = LAYOUTDM_RASTER_RESOLUTION
) -> np.ndarray:
  """layout-dm's reading of BLT's IoU (its average_iou-BLT), [B].

  U is the fraction of a R x R canvas covered by the union of all elements,
  each rasterised from round(R * edge) clipped to [0, R]. The score is the mean
  of A(i & j) / U (continuous intersections) over pairs whose ratio is above
  float32 eps; 0 if none, if U = 0, or for N <= 1.
  """
  boxes, mask = _check_layouts(boxes, mask)
  _check_resolution(resolution)
  ltrb = boxes_lib.cxcywh_to_ltrb(boxes)
  counts = _raster_counts(np.rint(ltrb[..., :2] * resolution), np.rint(ltrb[..., 2:] * resolution), mask, resolution)
  union = (counts >= 1).sum((1, 2))[:, None, None] / resolution**2  # [B, 1, 1]
  intersection = boxes_lib.pairwise_intersection(ltrb, ltrb)  # [B, S, S]
  ratio = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
  return _mean_over_counted(ratio, _distinct_pairs(mask, mask) & (ratio > _FLOAT32_EPS))


# ---------------------------------------------------------------- Maximum IoU


def _label_multiset_keys(
  labels_a: np.ndarray, mask_a: np.ndarray, labels_b: np.ndarray, mask_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
  """One shared group id per layout of either set for its sorted label multiset; -1 for empty layouts."""
  width = max(mask_a.shape[1], mask_b.shape[1])

  def sorted_rows(labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    rows = np.sort(np.where(mask, labels, _LABEL_FILL), axis=-1)  # [B, S]
    return np.pad(rows, ((0, 0), (0, width - rows.shape[1])), constant_values=_LABEL_FILL)

  rows = np.concatenate([sorted_rows(labels_a, mask_a), sorted_rows(labels_b, mask_b)])
  _, keys = np.unique(rows, axis=0, return_inverse=True)
  keys = np.where(np.concatenate([mask_a.any(-1), mask_b.any(-1)]), keys.reshape(-1), -1)
  return keys[: len(mask_a)], keys[len(mask_a) :]


def _elements_by_label(boxes: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Real elements of layouts sharing one label multiset, ordered by label.

  Returns:
    ltrb [G, N, 4] and the sorted labels [N] they all share.
  """
  order = np.argsort(np.where(mask, labels, _LABEL_FILL), axis=-1, kind="stable")[:, : mask[0].sum()]  # [G, N]
  ltrb = boxes_lib.cxcywh_to_ltrb(np.take_along_axis(boxes, order[..., None], axis=1))
  return ltrb, np.take_along_axis(labels, order, axis=1)[0]


def _best_same_label_iou(iou: np.ndarray, same_label: np.ndarray) -> np.ndarray:
  """Largest sum of IoUs over one-to-one matchings within each label, [P] from [P, N, N].

  A single Hungarian matching with cross-label entries at -1 never pairs
  different labels (each label block is square), so it equals the sum of
  LayoutGAN++'s per-label matchings.
  """
  if np.array_equal(same_label, np.eye(len(same_label), dtype=bool)):
    return np.trace(iou, axis1=1, axis2=2)
  weights = np.where(same_label, iou, -1.0)
  best = np.empty(len(weights))
  for pair, weight in enumerate(weights):  # Hungarian matching is per layout pair.
    rows, cols = linear_sum_assignment(weight, maximize=True)
    best[pair] = weight[rows, cols].sum()
  return best


def _matched_group_scores(ltrb_a: np.ndarray, ltrb_b: np.ndarray, labels: np.ndarray) -> np.ndarray:
  """Scores of the Hungarian matching between two groups of layouts with the same labels [N].

  Args:
    ltrb_a: [Ga, N, 4]; ltrb_b: [Gb, N, 4]; elements ordered by `labels`.
    labels: [N].

  Returns:
    [min(Ga, Gb)] per-pair scores (sum of matched IoUs) / N of the matched pairs.
  """
  same_label = labels[:, None] == labels[None, :]  # [N, N]
  scores = np.stack([_best_same_label_iou(boxes_lib.pairwise_iou(layout, ltrb_b), same_label) for layout in ltrb_a])
  scores /= len(labels)  # [Ga, Gb]
  rows, cols = linear_sum_assignment(scores, maximize=True)
  return scores[rows, cols]


def maximum_iou_layoutganpp(
  boxes_a: np.ndarray,
  labels_a: np.ndarray,
  mask_a: np.ndarray,
  boxes_b: np.ndarray,
  labels_b: np.ndarray,
  mask_b: np.ndarray,
) -> float:
  """LayoutGAN++'s Maximum IoU between two sets of layouts (layout-dm compute_maximum_iou); higher is better.

  Layouts are grouped by their sorted label multiset; groups present in only
  one set are dropped. Within a group, two layouts score the sum over labels
  of the Hungarian-matched IoUs between their elements of that label, divided
  by N. A Hungarian matching between the group's layouts of set a and set b
  then pairs min(Ga, Gb) layouts, and the result is the mean over every
  matched pair of every group (not a mean of group means). IoU is 0 where the
  union is empty (two zero-area boxes: the reference code gets NaN and scipy
  refuses it). Empty layouts are dropped (the reference code divides by N = 0).

  Args:
    boxes_a, labels_a, mask_a: the first set, [Ba, Sa, 4], [Ba, Sa], [Ba, Sa] (LayoutGAN++: the real layouts).
    boxes_b, labels_b, mask_b: the second set, [Bb, Sb, ...] (the generated layouts).

  Returns:
    The mean matched score; 0.0 when the sets share no label multiset (as layout-dm).
  """
  boxes_a, mask_a = _check_layouts(boxes_a, mask_a)
  boxes_b, mask_b = _check_layouts(boxes_b, mask_b)
  labels_a, labels_b = _check_labels(labels_a, mask_a), _check_labels(labels_b, mask_b)
  keys_a, keys_b = _label_multiset_keys(labels_a, mask_a, labels_b, mask_b)
  matched = []
  for key in np.intersect1d(keys_a[keys_a >= 0], keys_b):
    in_a, in_b = keys_a == key, keys_b == key
    ltrb_a, shared_labels = _elements_by_label(boxes_a[in_a], labels_a[in_a], mask_a[in_a])
    ltrb_b, _ = _elements_by_label(boxes_b[in_b], labels_b[in_b], mask_b[in_b])
    matched.append(_matched_group_scores(ltrb_a, ltrb_b, shared_labels))
  return float(np.concatenate(matched).mean()) if matched else 0.0


# ---------------------------------------------------------------- relation violations


def _check_relations(
  relations: np.ndarray, relation_mask: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  """Validates relations [B, R, 3] against the layouts.

  Returns:
    first and second slots [B, R] into the boxes with the canvas appended as slot S
    (inactive rows point there too), the Relation ids [B, R] and the active rows [B, R].
  """
  relations = np.asarray(relations)
  active = np.asarray(relation_mask)
  batch, slots = mask.shape
  if relations.ndim != 3 or relations.shape[0] != batch or relations.shape[2] != 3:
    raise ValueError(f"relations must have shape [B={batch}, R, 3] (first, second, relation); got {relations.shape}.")
  if not np.issubdtype(relations.dtype, np.integer):
    raise ValueError(f"relations must hold integers (element indices and Relation ids); got {relations.dtype}.")
  if active.shape != relations.shape[:2] or active.dtype != np.bool_:
    raise ValueError(
      f"relation_mask must be boolean of shape {relations.shape[:2]}; got {active.dtype} {active.shape}."
    )
  first, second, relation = (relations[..., k].astype(np.int64) for k in range(3))
  unknown = active & ~np.isin(relation, list(Relation))
  if unknown.any():
    raise ValueError(f"Unknown relation id {relation[unknown][0]}; use the Relation ids {[int(r) for r in Relation]}.")
  outside = active & ((first < CANVAS_INDEX) | (first >= slots) | (second < 0) | (second >= slots))
  if outside.any():
    raise ValueError(
      f"Relation between slots ({first[outside][0]}, {second[outside][0]}) lies outside [0, S={slots}); the "
      f"first element may also be CANVAS_INDEX={CANVAS_INDEX}."
    )
  on_canvas = active & (first == CANVAS_INDEX)
  if (on_canvas & ~np.isin(relation, list(_CANVAS_RELATIONS))).any():
    raise ValueError("Relations to the canvas are size relations or TOP, CENTER, BOTTOM; LEFT and RIGHT never hold.")
  first_slot = np.where(active & ~on_canvas, first, slots)
  second_slot = np.where(active, second, slots)
  real = np.concatenate([mask, np.ones((batch, 1), bool)], axis=1)  # [B, S + 1]; the canvas is real.
  padded = ~(np.take_along_axis(real, first_slot, 1) & np.take_along_axis(real, second_slot, 1))
  if padded.any():
    raise ValueError(f"{int(padded.sum())} relations name a padded slot; relate real elements only (mask True).")
  return first_slot, second_slot, relation, active


def _size_relation(first: np.ndarray, second: np.ndarray) -> np.ndarray:
  """Detected size Relation of second to first, [...] from boxes [..., 4]."""
  area_first, area_second = first[..., 2] * first[..., 3], second[..., 2] * second[..., 3]
  smaller = area_second <= (1 - RELATION_SIZE_TOLERANCE) * area_first
  equal = area_second < (1 + RELATION_SIZE_TOLERANCE) * area_first
  return np.select([smaller, equal], [Relation.SMALLER, Relation.EQUAL], Relation.LARGER)


def _position_relation(first: np.ndarray, second: np.ndarray, on_canvas: np.ndarray) -> np.ndarray:
  """Detected position Relation of second to first (or to the canvas where on_canvas), [...]."""
  left1, top1, right1, bottom1 = np.moveaxis(boxes_lib.cxcywh_to_ltrb(first), -1, 0)
  left2, top2, right2, bottom2 = np.moveaxis(boxes_lib.cxcywh_to_ltrb(second), -1, 0)
  between = np.select(
    [bottom2 <= top1, bottom1 <= top2, right2 <= left1, right1 <= left2],
    [Relation.TOP, Relation.BOTTOM, Relation.LEFT, Relation.RIGHT],
    Relation.CENTER,
  )
  centre_y = second[..., 1]
  in_canvas = np.select([centre_y <= 1 / 3, centre_y < 2 / 3], [Relation.TOP, Relation.CENTER], Relation.BOTTOM)
  return np.where(on_canvas, in_canvas, between)


def relation_violations(
  boxes: np.ndarray, mask: np.ndarray, relations: np.ndarray, relation_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
  """Counts of violated and of checked relation constraints per layout.

  A constraint (first, second, relation) holds when the relation detected
  between the two boxes (see `Relation`) is the required one. const_layout and
  layout-dm prepend the canvas as element 0 with label 0; here element indices
  are slots of `boxes` and the canvas is `CANVAS_INDEX`. One const_layout edge
  with both a size and a position bit is two rows here. LayoutFormer++ pools
  the counts over the data set: sum(violated) / sum(checked).

  Args:
    boxes: [B, S, 4] normalised (cx, cy, w, h).
    mask: [B, S] real elements.
    relations: [B, R, 3] int rows (first slot or CANVAS_INDEX, second slot, Relation id).
    relation_mask: [B, R] bool, True for the rows to check.

  Returns:
    violated [B] and checked [B], int64.
  """
  boxes, mask = _check_layouts(boxes, mask)
  first_slot, second_slot, relation, active = _check_relations(relations, relation_mask, mask)
  with_canvas = np.concatenate([boxes, np.broadcast_to(_CANVAS_BOX, (len(boxes), 1, 4))], axis=1)  # [B, S + 1, 4]
  box_first = np.take_along_axis(with_canvas, first_slot[..., None], axis=1)  # [B, R, 4]
  box_second = np.take_along_axis(with_canvas, second_slot[..., None], axis=1)
  detected = np.where(
    np.isin(relation, list(_SIZE_RELATIONS)),
    _size_relation(box_first, box_second),
    _position_relation(box_first, box_second, first_slot == boxes.shape[1]),
  )  # [B, R]
  return (active & (detected != relation)).sum(-1), active.sum(-1)


def violation_rate_layoutganpp(
  boxes: np.ndarray, mask: np.ndarray, relations: np.ndarray, relation_mask: np.ndarray
) -> np.ndarray:
  """LayoutGAN++'s relation violation rate (layout-dm compute_violation): violated / checked, [B].

  NaN for a layout without constraints. layout-dm's test.py sums the finite
  rates and divides by the number of all layouts: `batch_mean(rates, nan="zero")`.
  Arguments as `relation_violations`.
  """
  violated, checked = relation_violations(boxes, mask, relations, relation_mask)
  return np.where(checked > 0, violated / np.maximum(checked, 1), np.nan)


# ---------------------------------------------------------------- averaging


def batch_mean(values: np.ndarray, *, nan: str = "raise") -> float:
  """Mean of per-layout values [B] over the batch, as the evaluators average them.

  Args:
    values: [B] per-layout metric values.
    nan: what NaN entries mean. "raise" (none expected), "omit" (average the
      others, e.g. BLT alignment of layouts with N <= 1) or "zero" (count them
      as 0, e.g. layout-dm's violation score over layouts without constraints).

  Returns:
    The mean; NaN if "omit" leaves nothing.
  """
  values = np.asarray(values, np.float64)
  if values.ndim != 1 or values.size == 0:
    raise ValueError(f"values must be a non-empty [B] array of per-layout metrics; got shape {values.shape}.")
  if nan not in _NAN_POLICIES:
    raise ValueError(f"nan={nan!r} must be one of {_NAN_POLICIES}.")
  missing = np.isnan(values)
  if nan == "raise" and missing.any():
    raise ValueError(
      f"{int(missing.sum())} of {values.size} values are NaN; pass nan='omit' to skip them or nan='zero' to count "
      "them as 0 (see the metric's docstring for which its paper does)."
    )
  if nan == "zero":
    return float(np.where(missing, 0.0, values).mean())
  return float(values[~missing].mean()) if (~missing).any() else float("nan")
