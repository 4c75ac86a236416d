"""Layout metrics against hand-worked numbers and plain-loop restatements of the reference code."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from research.layout import metrics as M

EPS32 = float(np.finfo(np.float32).eps)
TWO = np.ones((1, 2), bool)
# Two 0.4 x 0.4 boxes overlapping in a 0.2 x 0.2 square.
OVERLAPPING = np.array([[[0.3, 0.3, 0.4, 0.4], [0.5, 0.5, 0.4, 0.4]]])

# ---------------------------------------------------------------- plain-loop restatements


def ltrb(box):
  cx, cy, w, h = box
  return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def area(box):
  return box[2] * box[3]


def intersection(a, b):
  la, ta, ra, ba = ltrb(a)
  lb, tb, rb, bb = ltrb(b)
  width, height = min(ra, rb) - max(la, lb), min(ba, bb) - max(ta, tb)
  return width * height if width > 0 and height > 0 else 0.0


def iou(a, b):
  inter = intersection(a, b)
  union = area(a) + area(b) - inter
  return inter / union if union > 0 else 0.0


def alignment_coordinates(box):
  left, top, right, bottom = ltrb(box)
  return left, box[0], right, top, box[1], bottom


def nearest_gap(elements, partners, i, coordinates):
  gap = 1.0
  for j, partner in enumerate(partners):
    if j != i:
      for mine, theirs in zip(coordinates(elements[i]), coordinates(partner)):
        gap = min(gap, abs(mine - theirs))
  return 0.0 if gap == 1.0 else gap


def ref_alignment_log_sum(elements, zero_partners):
  partners = list(elements) + [(0.0, 0.0, 0.0, 0.0)] * zero_partners
  return sum(-math.log(1 - nearest_gap(elements, partners, i, alignment_coordinates)) for i in range(len(elements)))


def ref_alignment_ndn(elements):
  return sum(nearest_gap(elements, elements, i, lambda b: alignment_coordinates(b)[:3]) for i in range(len(elements)))


def blt_grid(box):
  clamped = [min(max(v, 0.0), 1.0) for v in box]
  cx, cy = round(clamped[0] * 31), round(clamped[1] * 31)
  w, h = round(min(max(clamped[2] * 31, 1.0), 31.0)), round(min(max(clamped[3] * 31, 1.0), 31.0))
  return cx, cy, w, h


def ref_alignment_blt(elements):
  if len(elements) <= 1:
    return math.nan
  corners = []
  for box in elements:
    cx, cy, w, h = blt_grid(box)
    x0, y0, x1, y1 = (cx - w / 2) / 32, (cy - h / 2) / 32, (cx + w / 2) / 32, (cy + h / 2) / 32
    corners.append(((x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), (x1, y1)))
  total = 0.0
  for i, mine in enumerate(corners):
    total += min(
      (abs(p[0] - q[0]) + abs(p[1] - q[1])) / 2
      for j, theirs in enumerate(corners)
      if j != i
      for p, q in zip(mine, theirs)
    )
  return total


def ref_overlap_ratio_sum(elements):
  total = 0.0
  for i, a in enumerate(elements):
    for j, b in enumerate(elements):
      if i != j and area(a) > 0:
        total += intersection(a, b) / area(a)
  return total


def ref_overlap_layoutgan(elements):
  return sum(intersection(a, b) for a, b in itertools.combinations(elements, 2))


def ref_overlap_blt(elements):
  grid = [tuple(v / 32 for v in blt_grid(box)) for box in elements]
  return ref_overlap_layoutgan(grid)


def ref_mean_iou_vtn(elements):
  values = [iou(a, b) for i, a in enumerate(elements) for j, b in enumerate(elements) if i != j]
  values = [v for v in values if v > EPS32]
  return sum(values) / len(values) if values else 0.0


def ref_perceptual_iou_blt(elements):
  canvas = [[0] * 32 for _ in range(32)]
  for box in elements:
    cx, cy, w, h = blt_grid(box)
    x0, x1 = round(cx - w / 2 + 1e-4), round(cx + w / 2 + 1e-4)
    y0, y1 = round(cy - h / 2 + 1e-4), round(cy + h / 2 + 1e-4)
    for x in range(max(x0, 0), min(x1, 32)):
      for y in range(max(y0, 0), min(y1, 32)):
        canvas[x][y] += 1
  covered = sum(c >= 1 for row in canvas for c in row)
  shared = sum(c >= 2 for row in canvas for c in row)
  return shared / covered if covered else 0.0


def ref_perceptual_iou_layoutdm(elements):
  if len(elements) <= 1:
    return 0.0
  canvas = [[0] * 32 for _ in range(32)]
  for box in elements:
    left, top, right, bottom = (min(max(round(v * 32), 0), 32) for v in ltrb(box))
    for y in range(top, bottom):
      for x in range(left, right):
        canvas[y][x] = 1
  union = sum(map(sum, canvas)) / 32**2
  if union == 0:
    return 0.0
  values = [intersection(a, b) / union for i, a in enumerate(elements) for j, b in enumerate(elements) if i != j]
  values = [v for v in values if v > EPS32]
  return sum(values) / len(values) if values else 0.0


def ref_best_matching(weights):
  n = len(weights)
  return max(sum(weights[i][p[i]] for i in range(n)) for p in itertools.permutations(range(n)))


def ref_layout_pair_score(layout_a, layout_b):
  (boxes_a, labels_a), (boxes_b, labels_b) = layout_a, layout_b
  score = 0.0
  for label in set(labels_a):
    mine = [b for b, other in zip(boxes_a, labels_a) if other == label]
    theirs = [b for b, other in zip(boxes_b, labels_b) if other == label]
    score += ref_best_matching([[iou(a, b) for b in theirs] for a in mine])
  return score / len(boxes_a)


def ref_maximum_iou(layouts_a, layouts_b):
  def groups(layouts):
    out = {}
    for layout in layouts:
      if layout[0]:
        out.setdefault(str(sorted(layout[1])), []).append(layout)
    return out

  groups_a, groups_b = groups(layouts_a), groups(layouts_b)
  matched = []
  for key in set(groups_a) & set(groups_b):
    scores = np.array([[ref_layout_pair_score(a, b) for b in groups_b[key]] for a in groups_a[key]])
    rows, cols = linear_sum_assignment(scores, maximize=True)
    matched.extend(scores[rows, cols])
  return sum(matched) / len(matched) if matched else 0.0


def ref_size_relation(a, b):
  area_a, area_b = area(a), area(b)
  if area_b <= 0.9 * area_a:
    return M.Relation.SMALLER
  if 0.9 * area_a < area_b < 1.1 * area_a:
    return M.Relation.EQUAL
  return M.Relation.LARGER


def ref_position_relation(a, b, canvas):
  if canvas:
    if b[1] <= 1 / 3:
      return M.Relation.TOP
    return M.Relation.CENTER if b[1] < 2 / 3 else M.Relation.BOTTOM
  l1, t1, r1, b1 = ltrb(a)
  l2, t2, r2, b2 = ltrb(b)
  if b2 <= t1:
    return M.Relation.TOP
  if b1 <= t2:
    return M.Relation.BOTTOM
  if r2 <= l1:
    return M.Relation.LEFT
  if r1 <= l2:
    return M.Relation.RIGHT
  return M.Relation.CENTER


def ref_violations(boxes, relations):
  violated = 0
  for first, second, relation in relations:
    canvas = first == M.CANVAS_INDEX
    a = (0.5, 0.5, 1.0, 1.0) if canvas else boxes[first]
    if relation in (M.Relation.SMALLER, M.Relation.EQUAL, M.Relation.LARGER):
      detected = ref_size_relation(a, boxes[second])
    else:
      detected = ref_position_relation(a, boxes[second], canvas)
    violated += detected != relation
  return violated, len(relations)


# ---------------------------------------------------------------- random batches


def random_batch(seed: int, batch: int = 24, slots: int = 7):
  """Boxes with shared edges, zero areas, out-of-canvas boxes, padding in random slots holding garbage."""
  rng = np.random.default_rng(seed)
  boxes = np.concatenate([rng.uniform(0, 1, (batch, slots, 2)), rng.uniform(0.02, 0.5, (batch, slots, 2))], -1)
  dyadic = np.concatenate([rng.integers(1, 8, (batch, slots, 2)) / 8, rng.integers(1, 3, (batch, slots, 2)) / 4], -1)
  boxes = np.where(rng.random((batch, slots, 1)) < 0.4, dyadic, boxes)  # exactly shared edges, centres and ties
  boxes[..., 2:] = np.where(rng.random((batch, slots, 2)) < 0.05, 0.0, boxes[..., 2:])  # zero widths / heights
  outside = rng.uniform(-0.2, 1.2, (batch, slots, 2))
  boxes[..., :2] = np.where(rng.random((batch, slots, 2)) < 0.05, outside, boxes[..., :2])
  counts = rng.integers(0, slots + 1, batch)
  counts[:3] = 0, 1, slots
  mask = np.arange(slots) < counts[:, None]
  mask = np.take_along_axis(mask, rng.permuted(np.tile(np.arange(slots), (batch, 1)), axis=1), axis=1)
  boxes = np.where(mask[..., None], boxes, np.nan)
  labels = rng.integers(0, 3, (batch, slots))
  return boxes, mask, labels


def real_elements(boxes, mask, labels=None):
  """Per layout, its real boxes (as tuples) in slot order, with their labels if given."""
  layouts = [[tuple(b) for b, m in zip(bs, ms) if m] for bs, ms in zip(boxes, mask)]
  if labels is None:
    return layouts
  return [(layout, [int(label) for label, m in zip(ls, ms) if m]) for layout, ls, ms in zip(layouts, labels, mask)]


PER_LAYOUT_METRICS = {
  "alignment_layoutganpp": M.alignment_layoutganpp,
  "alignment_layoutganpp_rows_only": lambda b, m: M.alignment_layoutganpp(b, m, mask_padded_partners=False),
  "alignment_aclayoutgan": M.alignment_aclayoutgan,
  "alignment_aclayoutgan_rows_only": lambda b, m: M.alignment_aclayoutgan(b, m, mask_padded_partners=False),
  "alignment_ndn": M.alignment_ndn,
  "alignment_blt": M.alignment_blt,
  "overlap_layoutganpp": M.overlap_layoutganpp,
  "overlap_aclayoutgan": M.overlap_aclayoutgan,
  "overlap_layoutgan": M.overlap_layoutgan,
  "overlap_blt": M.overlap_blt,
  "mean_iou_vtn": M.mean_iou_vtn,
  "perceptual_iou_blt": M.perceptual_iou_blt,
  "perceptual_iou_layoutdm": M.perceptual_iou_layoutdm,
}


def reference_values(name, boxes, mask):
  slots = mask.shape[1]
  values = []
  for layout in real_elements(boxes, mask):
    n, padded = len(layout), slots - len(layout)
    values.append(
      {
        "alignment_layoutganpp": ref_alignment_log_sum(layout, 0) / n if n else 0.0,
        "alignment_layoutganpp_rows_only": ref_alignment_log_sum(layout, padded) / n if n else 0.0,
        "alignment_aclayoutgan": ref_alignment_log_sum(layout, 0),
        "alignment_aclayoutgan_rows_only": ref_alignment_log_sum(layout, padded),
        "alignment_ndn": ref_alignment_ndn(layout),
        "alignment_blt": ref_alignment_blt(layout),
        "overlap_layoutganpp": ref_overlap_ratio_sum(layout) / n if n else 0.0,
        "overlap_aclayoutgan": ref_overlap_ratio_sum(layout),
        "overlap_layoutgan": ref_overlap_layoutgan(layout),
        "overlap_blt": ref_overlap_blt(layout),
        "mean_iou_vtn": ref_mean_iou_vtn(layout),
        "perceptual_iou_blt": ref_perceptual_iou_blt(layout),
        "perceptual_iou_layoutdm": ref_perceptual_iou_layoutdm(layout),
      }[name]
    )
  return np.array(values)


# ---------------------------------------------------------------- agreement with the loops


@pytest.mark.parametrize("name", sorted(PER_LAYOUT_METRICS))
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_plain_loop_restatement(name, seed):
  boxes, mask, _ = random_batch(seed)
  np.testing.assert_allclose(PER_LAYOUT_METRICS[name](boxes, mask), reference_values(name, boxes, mask), atol=1e-9)


@pytest.mark.parametrize("name", sorted(PER_LAYOUT_METRICS))
def test_metrics_see_ties_and_overlaps_in_the_random_batch(name):
  """Guards the loop comparison against a batch where every metric is trivially 0."""
  boxes, mask, _ = random_batch(0)
  values = PER_LAYOUT_METRICS[name](boxes, mask)
  assert np.sum(np.nan_to_num(values) > 0) >= 5


def test_random_batch_holds_exact_alignments():
  boxes, mask, _ = random_batch(0)
  gaps = [
    nearest_gap(layout, layout, i, alignment_coordinates)
    for layout in real_elements(boxes, mask)
    for i in range(len(layout))
    if len(layout) > 1
  ]
  assert sum(g == 0.0 for g in gaps) >= 10


def test_violations_match_plain_loop_restatement():
  boxes, mask, _ = random_batch(3)
  rng = np.random.default_rng(3)
  relations, active = np.zeros((len(boxes), 6, 3), np.int64), np.zeros((len(boxes), 6), bool)
  for b, layout_mask in enumerate(mask):
    slots = np.flatnonzero(layout_mask)
    for r in range(rng.integers(0, 7) if len(slots) else 0):
      if rng.random() < 0.3:
        first, relation = M.CANVAS_INDEX, rng.choice([1, 2, 3, 6, 8, 9])
      else:
        first, relation = rng.choice(slots), rng.choice([1, 2, 3, 5, 6, 7, 8, 9])
      relations[b, r], active[b, r] = (first, rng.choice(slots), relation), True
  violated, checked = M.relation_violations(boxes, mask, relations, active)
  expected = [ref_violations(boxes[b], [tuple(r) for r in relations[b][active[b]]]) for b in range(len(boxes))]
  np.testing.assert_array_equal(violated, [v for v, _ in expected])
  np.testing.assert_array_equal(checked, [c for _, c in expected])
  assert violated.sum() > 0 and (checked - violated).sum() > 0


@pytest.mark.parametrize("seed", [4, 5])
def test_maximum_iou_matches_plain_loop_restatement(seed):
  boxes_a, mask_a, labels_a = random_batch(seed, batch=30, slots=4)
  boxes_b, mask_b, labels_b = random_batch(seed + 10, batch=40, slots=5)
  expected = ref_maximum_iou(real_elements(boxes_a, mask_a, labels_a), real_elements(boxes_b, mask_b, labels_b))
  got = M.maximum_iou_layoutganpp(boxes_a, labels_a, mask_a, boxes_b, labels_b, mask_b)
  assert got == pytest.approx(expected, abs=1e-9)
  assert 0 < got < 1


# ---------------------------------------------------------------- hand-worked alignment


def test_alignment_of_two_boxes_by_hand():
  # A: left .2, cx .25, right .3, top .2, cy .25, bottom .3; B: .5 .6 .7 / .7 .75 .8 -> nearest gap 0.3 for both.
  boxes = np.array([[[0.25, 0.25, 0.1, 0.1], [0.6, 0.75, 0.2, 0.1]]])
  assert M.alignment_layoutganpp(boxes, TWO)[0] == pytest.approx(-math.log(0.7), abs=1e-12)
  assert M.alignment_aclayoutgan(boxes, TWO)[0] == pytest.approx(-2 * math.log(0.7), abs=1e-12)
  assert M.alignment_ndn(boxes, TWO)[0] == pytest.approx(0.6, abs=1e-12)


def test_padded_zero_boxes_are_partners_only_in_the_layoutdm_variant():
  # A padded slot read as the box (0, 0, 0, 0) is 0.2 from A's left and top edges, nearer than B (0.3).
  boxes = np.array([[[0.25, 0.25, 0.1, 0.1], [0.6, 0.75, 0.2, 0.1], [9.0, 9.0, 9.0, 9.0]]])
  mask = np.array([[True, True, False]])
  rows_only = (-math.log(0.8) - math.log(0.7)) / 2
  assert M.alignment_layoutganpp(boxes, mask)[0] == pytest.approx(-math.log(0.7), abs=1e-12)
  assert M.alignment_layoutganpp(boxes, mask, mask_padded_partners=False)[0] == pytest.approx(rows_only, abs=1e-12)
  assert M.alignment_aclayoutgan(boxes, mask, mask_padded_partners=False)[0] == pytest.approx(2 * rows_only)
  # Without padding slots both variants agree.
  unpadded = M.alignment_layoutganpp(boxes[:, :2], TWO, mask_padded_partners=False)
  np.testing.assert_array_equal(unpadded, M.alignment_layoutganpp(boxes[:, :2], TWO))


def test_perfectly_aligned_boxes_score_zero():
  left_aligned = np.array([[[0.25, 0.25, 0.25, 0.25], [0.375, 0.75, 0.5, 0.125]]])  # both left edges at 0.125
  for metric in (M.alignment_layoutganpp, M.alignment_aclayoutgan, M.alignment_ndn):
    assert metric(left_aligned, TWO)[0] == 0.0
  # BLT compares corners: a shared left edge alone is not alignment, a shared top-left corner is.
  assert M.alignment_blt(left_aligned, TWO)[0] > 0
  same_top_left = np.array([[[0.25, 0.25, 0.25, 0.25], [0.375, 0.375, 0.5, 0.5]]])
  assert M.alignment_blt(same_top_left, TWO)[0] == 0.0


def test_alignment_blt_by_hand():
  # Grid bins (cx, cy, w, h) = (10, 10, 4, 4) and (20, 12, 6, 4): top-left gaps (9, 2), centres (10, 2),
  # bottom-right (11, 2) in 1/32 units -> means 5.5, 6, 6.5; both elements take 5.5 / 32.
  boxes = np.array([[[10, 10, 4, 4], [20, 12, 6, 4]]]) / 31
  assert M.alignment_blt(boxes, TWO)[0] == pytest.approx(11 / 32, abs=1e-12)
  np.testing.assert_allclose(M.blt_grid_boxes(boxes), np.array([[[10, 10, 4, 4], [20, 12, 6, 4]]]) / 32)


def test_blt_grid_clamps_and_keeps_one_bin():
  grid = M.blt_grid_boxes(np.array([[-0.3, 1.4, 0.0, 2.0]]))
  np.testing.assert_allclose(grid, [[0, 31 / 32, 1 / 32, 31 / 32]])


# ---------------------------------------------------------------- hand-worked overlap and IoU


def test_overlap_of_two_boxes_by_hand():
  # Intersection 0.04, each area 0.16: each ratio 0.25.
  assert M.overlap_layoutganpp(OVERLAPPING, TWO)[0] == pytest.approx(0.25, abs=1e-12)
  assert M.overlap_aclayoutgan(OVERLAPPING, TWO)[0] == pytest.approx(0.5, abs=1e-12)
  assert M.overlap_layoutgan(OVERLAPPING, TWO)[0] == pytest.approx(0.04, abs=1e-12)
  assert M.mean_iou_vtn(OVERLAPPING, TWO)[0] == pytest.approx(0.04 / 0.28, abs=1e-12)


def test_nested_boxes_count_the_inner_box_fully():
  nested = np.array([[[0.5, 0.5, 0.8, 0.8], [0.5, 0.5, 0.2, 0.2]]])  # inner area 0.04 inside 0.64
  assert M.overlap_aclayoutgan(nested, TWO)[0] == pytest.approx(1 + 0.04 / 0.64, abs=1e-12)
  assert M.overlap_layoutganpp(nested, TWO)[0] == pytest.approx((1 + 0.04 / 0.64) / 2, abs=1e-12)
  assert M.overlap_layoutgan(nested, TWO)[0] == pytest.approx(0.04, abs=1e-12)


def test_identical_boxes_overlap_fully():
  same = np.array([[[0.4, 0.6, 0.2, 0.3], [0.4, 0.6, 0.2, 0.3]]])
  assert M.overlap_layoutganpp(same, TWO)[0] == pytest.approx(1.0, abs=1e-12)
  assert M.mean_iou_vtn(same, TWO)[0] == pytest.approx(1.0, abs=1e-12)
  assert M.alignment_layoutganpp(same, TWO)[0] == 0.0


def test_zero_area_boxes_add_no_overlap():
  # A zero-width box inside a large one: its own ratio is 0/0 -> 0 and it intersects nothing.
  boxes = np.array([[[0.5, 0.5, 0.8, 0.8], [0.5, 0.5, 0.0, 0.2], [0.5, 0.5, 0.0, 0.0]]])
  mask = np.ones((1, 3), bool)
  for metric in (M.overlap_layoutganpp, M.overlap_aclayoutgan, M.overlap_layoutgan, M.mean_iou_vtn):
    assert metric(boxes, mask)[0] == 0.0


def test_ignore_labels_drops_background_and_its_count():
  # A full-canvas background (label 9) under the two overlapping boxes (labels 1 and 2).
  boxes = np.concatenate([OVERLAPPING, [[[0.5, 0.5, 1.0, 1.0]]]], axis=1)
  labels, mask = np.array([[1, 2, 9]]), np.ones((1, 3), bool)
  # With the background: A and B each lie fully in it (1 + 1), it is 0.16 covered by each, A-B 0.25 twice.
  assert M.overlap_layoutganpp(boxes, mask, labels)[0] == pytest.approx((2 + 0.32 + 0.5) / 3, abs=1e-12)
  assert M.overlap_layoutganpp(boxes, mask, labels, ignore_labels=[9])[0] == pytest.approx(0.25, abs=1e-12)
  assert M.overlap_aclayoutgan(boxes, mask, labels, ignore_labels=[9])[0] == pytest.approx(0.5, abs=1e-12)
  assert M.overlap_layoutgan(boxes, mask, labels, ignore_labels=[9, 4])[0] == pytest.approx(0.04, abs=1e-12)
  assert M.overlap_blt(boxes, mask, labels, ignore_labels=[1, 9])[0] == 0.0


def test_overlap_blt_uses_the_grid():
  # Bins (8, 8, 8, 8) and (12, 12, 8, 8): edges 4..12 and 8..16 in 1/32 units -> (4/32)^2.
  boxes = np.array([[[8, 8, 8, 8], [12, 12, 8, 8]]]) / 31
  assert M.overlap_blt(boxes, TWO)[0] == pytest.approx(1 / 64, abs=1e-12)
  assert M.perceptual_iou_blt(boxes, TWO)[0] == pytest.approx(16 / 112, abs=1e-12)  # 4x4 shared of 8x8 + 8x8 - 16


def test_perceptual_iou_layoutdm_by_hand():
  # Rasters 4..12 and 8..16 cells -> union 112 of 1024; intersection 0.125^2 -> ratio 16 / 112.
  boxes = np.array([[[0.25, 0.25, 0.25, 0.25], [0.375, 0.375, 0.25, 0.25]]])
  assert M.perceptual_iou_layoutdm(boxes, TWO)[0] == pytest.approx(16 / 112, abs=1e-12)


def test_perceptual_iou_blt_clips_boxes_over_the_edge():
  # Bins (1, 1, 4, 4) start at round(-0.9999) = -1: the raster covers cells 0..2 on each axis.
  boxes = np.array([[[1, 1, 4, 4], [1, 1, 4, 4]]]) / 31
  assert M.perceptual_iou_blt(boxes, TWO)[0] == 1.0
  assert M.perceptual_iou_blt(boxes[:, :1], np.ones((1, 1), bool))[0] == 0.0


# ---------------------------------------------------------------- edge cases


def test_empty_and_single_element_layouts():
  boxes = np.array([[[0.5, 0.5, 0.2, 0.2]], [[0.5, 0.5, 0.2, 0.2]]])
  mask = np.array([[False], [True]])
  for name, metric in PER_LAYOUT_METRICS.items():
    expected = [np.nan, np.nan] if name == "alignment_blt" else [0.0, 0.0]
    np.testing.assert_array_equal(metric(boxes, mask), expected, err_msg=name)


def test_empty_batch_dimension_of_slots():
  boxes, mask = np.zeros((2, 0, 4)), np.zeros((2, 0), bool)
  np.testing.assert_array_equal(M.overlap_layoutganpp(boxes, mask), [0.0, 0.0])
  np.testing.assert_array_equal(M.alignment_layoutganpp(boxes, mask, mask_padded_partners=False), [0.0, 0.0])


# ---------------------------------------------------------------- invariances


def permute_slots(seed, boxes, mask, labels):
  rng = np.random.default_rng(seed)
  order = rng.permuted(np.tile(np.arange(mask.shape[1]), (len(mask), 1)), axis=1)  # [B, S]: new slot -> old slot

  def take(x):
    return np.take_along_axis(x, order.reshape(order.shape + (1,) * (x.ndim - 2)), axis=1)

  return take(boxes), take(mask), take(labels), np.argsort(order, axis=1)


@pytest.mark.parametrize("name", sorted(PER_LAYOUT_METRICS))
def test_element_order_does_not_matter(name):
  boxes, mask, labels = random_batch(6)
  permuted_boxes, permuted_mask, _, _ = permute_slots(7, boxes, mask, labels)
  np.testing.assert_allclose(
    PER_LAYOUT_METRICS[name](permuted_boxes, permuted_mask), PER_LAYOUT_METRICS[name](boxes, mask), atol=1e-12
  )


@pytest.mark.parametrize("name", sorted(PER_LAYOUT_METRICS))
def test_padding_contents_do_not_matter(name):
  boxes, mask, _ = random_batch(8)
  other = np.where(mask[..., None], boxes, np.random.default_rng(0).normal(0, 1e3, boxes.shape))
  np.testing.assert_array_equal(PER_LAYOUT_METRICS[name](other, mask), PER_LAYOUT_METRICS[name](boxes, mask))


def test_padding_labels_do_not_matter_for_label_metrics():
  boxes, mask, labels = random_batch(9)
  boxes[..., 2:] = np.maximum(boxes[..., 2:], 0.05)  # IoU of a box with itself needs a positive area
  other = np.where(mask, labels, 9)
  np.testing.assert_array_equal(
    M.overlap_layoutganpp(boxes, mask, other, ignore_labels=[9]), M.overlap_layoutganpp(boxes, mask, labels)
  )
  assert M.maximum_iou_layoutganpp(boxes, other, mask, boxes, labels, mask) == pytest.approx(1.0, abs=1e-12)


def test_maximum_iou_is_invariant_to_order_and_padding():
  boxes_a, mask_a, labels_a = random_batch(10, batch=30, slots=4)
  boxes_b, mask_b, labels_b = random_batch(11, batch=30, slots=4)
  reference = M.maximum_iou_layoutganpp(boxes_a, labels_a, mask_a, boxes_b, labels_b, mask_b)
  permuted_boxes, permuted_mask, permuted_labels, _ = permute_slots(12, boxes_b, mask_b, labels_b)
  padded = [np.pad(x, ((0, 0), (0, 3)) + ((0, 0),) * (x.ndim - 2)) for x in (permuted_boxes, permuted_labels)]
  extra_mask = np.pad(permuted_mask, ((0, 0), (0, 3)))
  got = M.maximum_iou_layoutganpp(boxes_a, labels_a, mask_a, padded[0], padded[1], extra_mask)
  assert got == pytest.approx(reference, abs=1e-12)


def test_violations_follow_their_elements_under_permutation():
  boxes, mask, labels = random_batch(13, batch=8)
  mask[:, :2] = True
  boxes[:, :2] = np.random.default_rng(13).uniform(0.1, 0.5, (8, 2, 4))
  relations = np.broadcast_to(
    np.array([[0, 1, M.Relation.TOP], [M.CANVAS_INDEX, 1, M.Relation.CENTER], [1, 0, M.Relation.LARGER]]), (8, 3, 3)
  ).copy()
  active = np.ones((8, 3), bool)
  permuted_boxes, permuted_mask, _, new_slot = permute_slots(14, boxes, mask, labels)
  moved = relations.copy()
  for k in (0, 1):
    slots = relations[..., k]
    moved[..., k] = np.where(slots >= 0, np.take_along_axis(new_slot, np.maximum(slots, 0), 1), slots)
  for counts, moved_counts in zip(
    M.relation_violations(boxes, mask, relations, active),
    M.relation_violations(permuted_boxes, permuted_mask, moved, active),
  ):
    np.testing.assert_array_equal(counts, moved_counts)


# ---------------------------------------------------------------- Maximum IoU


def test_maximum_iou_of_a_set_with_itself_is_one():
  boxes, mask, labels = random_batch(15, batch=40, slots=5)
  boxes[..., 2:] = np.maximum(boxes[..., 2:], 0.05)  # IoU of a box with itself needs a positive area
  assert M.maximum_iou_layoutganpp(boxes, labels, mask, boxes, labels, mask) == pytest.approx(1.0, abs=1e-12)


def test_maximum_iou_by_hand():
  # Real layout: label 0 at A, label 1 at C. Generated: label 1 at C, label 0 at B (IoU(A, B) = 1/7),
  # plus a layout with another label multiset, which is dropped.
  a, b, c = [0.3, 0.3, 0.4, 0.4], [0.5, 0.5, 0.4, 0.4], [0.8, 0.8, 0.1, 0.1]
  real_boxes, real_labels, real_mask = np.array([[a, c]]), np.array([[0, 1]]), TWO
  fake_boxes = np.array([[c, b], [a, c]])
  fake_labels, fake_mask = np.array([[1, 0], [0, 0]]), np.ones((2, 2), bool)
  got = M.maximum_iou_layoutganpp(real_boxes, real_labels, real_mask, fake_boxes, fake_labels, fake_mask)
  assert got == pytest.approx((1 / 7 + 1) / 2, abs=1e-12)


def test_maximum_iou_matches_repeated_labels_one_to_one():
  # Two boxes of one label in swapped order match perfectly; a third layout adds a second matched pair.
  a, b = [0.3, 0.3, 0.4, 0.4], [0.5, 0.5, 0.4, 0.4]
  real = np.array([[a, b], [a, a]])
  fake = np.array([[b, a], [b, b]])
  labels, mask = np.zeros((2, 2), np.int64), np.ones((2, 2), bool)
  # Pair scores: real0-fake0 1, real0-fake1 (1/7 + 1)/2, real1-fake0 (1 + 1/7)/2, real1-fake1 1/7.
  # The best one-to-one matching pairs real0-fake1 and real1-fake0 (8/7) over the diagonal (1 + 1/7 = 8/7): a tie.
  assert M.maximum_iou_layoutganpp(real, labels, mask, fake, labels, mask) == pytest.approx(4 / 7, abs=1e-12)


def test_maximum_iou_without_shared_label_multisets_is_zero():
  boxes = OVERLAPPING
  assert M.maximum_iou_layoutganpp(boxes, np.array([[0, 1]]), TWO, boxes, np.array([[0, 0]]), TWO) == 0.0
  empty = np.zeros((1, 2), bool)
  assert M.maximum_iou_layoutganpp(boxes, np.array([[0, 1]]), empty, boxes, np.array([[0, 1]]), empty) == 0.0


# ---------------------------------------------------------------- relations


def test_relation_violations_by_hand():
  # A at the top (area .04), B at the bottom (area .08).
  boxes = np.array([[[0.5, 0.2, 0.2, 0.2], [0.5, 0.8, 0.4, 0.2]], [[0.5, 0.5, 0.1, 0.1], [0, 0, 0, 0]]])
  mask = np.array([[True, True], [True, False]])
  R = M.Relation
  relations = np.array(
    [
      [
        [0, 1, R.BOTTOM],
        [0, 1, R.LARGER],
        [1, 0, R.TOP],
        [0, 1, R.LEFT],
        [M.CANVAS_INDEX, 0, R.TOP],
        [M.CANVAS_INDEX, 1, R.CENTER],
      ],
      [[0, 0, 0]] * 6,
    ]
  )
  active = np.array([[True] * 6, [False] * 6])
  violated, checked = M.relation_violations(boxes, mask, relations, active)
  np.testing.assert_array_equal(violated, [2, 0])
  np.testing.assert_array_equal(checked, [6, 0])
  np.testing.assert_array_equal(M.violation_rate_layoutganpp(boxes, mask, relations, active), [1 / 3, np.nan])


def test_relation_thresholds_follow_const_layout():
  R = M.Relation
  # Area exactly 0.9 of the canvas is SMALLER; a centre exactly at 1/3 is TOP.
  boxes = np.array([[[0.5, 1 / 3, 0.9, 1.0], [0.5, 2 / 3, 0.1, 0.1]]])
  relations = np.array(
    [
      [
        [M.CANVAS_INDEX, 0, R.SMALLER],
        [M.CANVAS_INDEX, 0, R.TOP],
        [M.CANVAS_INDEX, 1, R.BOTTOM],
        [M.CANVAS_INDEX, 0, R.EQUAL],
      ]
    ]
  )
  violated, checked = M.relation_violations(boxes, TWO, relations, np.ones((1, 4), bool))
  assert (violated[0], checked[0]) == (1, 4)


def test_touching_boxes_are_beside_each_other():
  R = M.Relation
  boxes = np.array([[[0.25, 0.5, 0.5, 0.2], [0.75, 0.5, 0.5, 0.2]]])  # share the edge x = 0.5
  relations = np.array([[[0, 1, R.RIGHT], [1, 0, R.LEFT], [0, 1, R.EQUAL], [0, 1, R.CENTER]]])
  violated, _ = M.relation_violations(boxes, TWO, relations, np.ones((1, 4), bool))
  assert violated[0] == 1


# ---------------------------------------------------------------- averaging


def test_batch_mean_policies():
  values = np.array([1.0, np.nan, 3.0])
  assert M.batch_mean(values, nan="omit") == 2.0
  assert M.batch_mean(values, nan="zero") == pytest.approx(4 / 3)
  assert M.batch_mean(np.array([0.5, 1.5])) == 1.0
  assert math.isnan(M.batch_mean(np.array([np.nan]), nan="omit"))
  with pytest.raises(ValueError, match="1 of 3 values are NaN"):
    M.batch_mean(values)
  with pytest.raises(ValueError, match="must be one of"):
    M.batch_mean(values, nan="skip")
  with pytest.raises(ValueError, match="non-empty"):
    M.batch_mean(np.zeros((0,)))


# ---------------------------------------------------------------- errors


def test_layout_errors_name_the_problem():
  boxes = OVERLAPPING
  with pytest.raises(ValueError, match=r"shape \[B, S, 4\]"):
    M.overlap_layoutganpp(boxes[0], TWO)
  with pytest.raises(ValueError, match="mask must have shape"):
    M.overlap_layoutganpp(boxes, TWO[:, :1])
  with pytest.raises(ValueError, match="mask must be boolean"):
    M.overlap_layoutganpp(boxes, TWO.astype(int))
  with pytest.raises(ValueError, match="must be finite; 1 are not"):
    M.overlap_layoutganpp(np.array([[[np.nan, 0.5, 0.1, 0.1], [0.5, 0.5, 0.1, 0.1]]]), TWO)
  with pytest.raises(ValueError, match="smallest is -0.1"):
    M.alignment_layoutganpp(np.array([[[0.5, 0.5, -0.1, 0.1], [0.5, 0.5, 0.1, 0.1]]]), TWO)
  with pytest.raises(ValueError, match="needs labels"):
    M.overlap_layoutganpp(boxes, TWO, ignore_labels=[3])
  with pytest.raises(ValueError, match="labels must be integers"):
    M.overlap_layoutganpp(boxes, TWO, np.zeros((1, 2)), ignore_labels=[3])
  with pytest.raises(ValueError, match="resolution=1"):
    M.alignment_blt(boxes, TWO, resolution=1)


@pytest.mark.parametrize(
  "relation, match",
  [
    ([0, 1, 4], "Unknown relation id 4"),
    ([0, 2, 6], r"slots \(0, 2\) lies outside"),
    ([-2, 1, 6], r"slots \(-2, 1\) lies outside"),
    ([M.CANVAS_INDEX, 1, 5], "LEFT and RIGHT never hold"),
    ([0, 1, 6], "1 relations name a padded slot"),
  ],
)
def test_relation_errors_name_the_problem(relation, match):
  mask = np.array([[True, False]])
  with pytest.raises(ValueError, match=match):
    M.relation_violations(OVERLAPPING, mask, np.array([[relation]]), np.ones((1, 1), bool))


def test_relation_shape_errors():
  with pytest.raises(ValueError, match=r"shape \[B=1, R, 3\]"):
    M.relation_violations(OVERLAPPING, TWO, np.zeros((1, 2)), np.ones((1, 2), bool))
  with pytest.raises(ValueError, match="must hold integers"):
    M.relation_violations(OVERLAPPING, TWO, np.zeros((1, 1, 3)), np.ones((1, 1), bool))
  with pytest.raises(ValueError, match="relation_mask must be boolean"):
    M.relation_violations(OVERLAPPING, TWO, np.zeros((1, 1, 3), int), np.ones((1, 1)))
