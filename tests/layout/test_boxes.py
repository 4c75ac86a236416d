"""Tests for research/layout/boxes.py: hand-worked boxes and loop-by-loop references."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from research.layout import boxes as bx


def _random_cxcywh(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
  return np.concatenate([rng.random(shape + (2,)), rng.random(shape + (2,)) * 0.5], axis=-1).astype(np.float32)


def _loop_intersection(a: list[float], b: list[float]) -> float:
  width = min(a[2], b[2]) - max(a[0], b[0])
  height = min(a[3], b[3]) - max(a[1], b[1])
  return max(width, 0.0) * max(height, 0.0)


def _loop_area(box: list[float]) -> float:
  return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _loop_iou(a: list[float], b: list[float]) -> float:
  inter = _loop_intersection(a, b)
  union = _loop_area(a) + _loop_area(b) - inter
  return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------------------------------------- conversions


def test_hand_worked_conversions():
  centre = np.array([0.5, 0.5, 0.2, 0.4])
  ltrb = np.array([0.4, 0.3, 0.6, 0.7])
  ltwh = np.array([0.4, 0.3, 0.2, 0.4])
  np.testing.assert_allclose(bx.cxcywh_to_ltrb(centre), ltrb)
  np.testing.assert_allclose(bx.cxcywh_to_ltwh(centre), ltwh)
  np.testing.assert_allclose(bx.ltrb_to_cxcywh(ltrb), centre)
  np.testing.assert_allclose(bx.ltrb_to_ltwh(ltrb), ltwh)
  np.testing.assert_allclose(bx.ltwh_to_ltrb(ltwh), ltrb)
  np.testing.assert_allclose(bx.ltwh_to_cxcywh(ltwh), centre)


def test_rico_bounds_to_normalised_centre_box():
  # A RICO element with bounds [x1, y1, x2, y2] = [144, 256, 864, 1536] on a 1440 x 2560 screen.
  ltrb = np.array([[144.0, 256.0, 864.0, 1536.0]])
  centre = bx.ltrb_to_cxcywh(bx.normalize(ltrb, 1440, 2560))
  np.testing.assert_allclose(centre, [[0.35, 0.35, 0.5, 0.5]], atol=1e-12)


@pytest.mark.parametrize("source,target", list(itertools.permutations(bx.BOX_FORMATS, 2)))
def test_convert_round_trips_and_agrees_through_ltrb(source, target):
  rng = np.random.default_rng(0)
  boxes = bx.convert(_random_cxcywh(rng, (3, 7)), "cxcywh", source)
  converted = bx.convert(boxes, source, target)
  assert converted.shape == (3, 7, 4) and converted.dtype == np.float32
  np.testing.assert_allclose(bx.convert(converted, target, source), boxes, atol=1e-6)
  via_ltrb = bx.convert(bx.convert(boxes, source, "ltrb"), "ltrb", target)
  np.testing.assert_allclose(converted, via_ltrb, atol=1e-6)


def test_convert_same_format_returns_a_copy():
  boxes = np.zeros((2, 4), np.float32)
  out = bx.convert(boxes, "ltrb", "ltrb")
  out[0, 0] = 1
  assert boxes[0, 0] == 0


def test_dtypes():
  assert bx.cxcywh_to_ltrb(np.zeros((2, 4), np.float32)).dtype == np.float32
  assert bx.ltrb_to_cxcywh(np.array([[0, 0, 3, 3]])).dtype == np.float64  # integers: float64, no truncation
  np.testing.assert_allclose(bx.ltrb_to_cxcywh(np.array([[0, 0, 3, 3]])), [[1.5, 1.5, 3, 3]])


def test_bad_shapes_and_formats_raise():
  with pytest.raises(ValueError, match=r"4 values on the last axis, got shape \(2, 3\)"):
    bx.cxcywh_to_ltrb(np.zeros((2, 3)))
  with pytest.raises(ValueError, match="4 values on the last axis"):
    bx.area(np.float32(1.0))
  with pytest.raises(ValueError, match="Unknown box format 'xyxy'"):
    bx.convert(np.zeros((1, 4)), "xyxy", "ltrb")


# ---------------------------------------------------------------------------------------------- canvas


def test_normalize_per_layout_matches_loop_and_round_trips():
  rng = np.random.default_rng(1)
  width, height = np.array([1440.0, 800.0, 300.0]), np.array([2560.0, 1000.0, 300.0])
  boxes = rng.random((3, 5, 4)) * 1000
  out = bx.normalize(boxes, width, height)
  for b in range(3):
    for s in range(5):
      expected = boxes[b, s] / [width[b], height[b], width[b], height[b]]
      np.testing.assert_allclose(out[b, s], expected)
  np.testing.assert_allclose(bx.denormalize(out, width, height), boxes)


def test_normalize_scalar_canvas_and_single_layout():
  np.testing.assert_allclose(bx.normalize([[10.0, 20.0, 30.0, 40.0]], 100, 200), [[0.1, 0.1, 0.3, 0.2]])
  np.testing.assert_allclose(bx.denormalize(np.full((2, 3, 4), 0.5), 10, 20)[1, 2], [5, 10, 5, 10])


def test_normalize_errors():
  with pytest.raises(ValueError, match=r"Canvas width must be > 0 \(and finite\), got 0.0"):
    bx.normalize(np.zeros((1, 4)), 0, 10)
  with pytest.raises(ValueError, match="Canvas height must be > 0"):
    bx.normalize(np.zeros((2, 1, 4)), [1, 2], [3, np.nan])
  with pytest.raises(ValueError, match=r"width has shape \(3,\); pass a scalar or one value per layout, shape \(2,\)"):
    bx.normalize(np.zeros((2, 5, 4)), np.ones(3), 1)


def test_clip_to_canvas():
  boxes = np.array([[[-0.2, 0.1, 0.5, 1.3], [0.2, 0.3, 0.4, 0.5]]])
  np.testing.assert_allclose(bx.clip_to_canvas(boxes), [[[0, 0.1, 0.5, 1], [0.2, 0.3, 0.4, 0.5]]])
  pixels = np.array([[[-5.0, 10, 120, 90]], [[-5.0, 10, 120, 90]]])
  np.testing.assert_allclose(
    bx.clip_to_canvas(pixels, [100, 200], [80, 60])[:, 0], [[0, 10, 100, 80], [0, 10, 120, 60]]
  )


def test_valid_boxes_hand_worked():
  boxes = np.array(
    [
      [0.0, 0.0, 1.0, 1.0],  # the whole canvas: valid
      [0.2, 0.2, 0.2, 0.5],  # zero width
      [0.3, 0.6, 0.5, 0.4],  # inverted height
      [-0.01, 0.1, 0.5, 0.5],  # sticks out on the left
      [0.1, 0.1, 0.5, 1.01],  # sticks out at the bottom
      [np.nan, 0.1, 0.5, 0.5],
    ]
  )
  np.testing.assert_array_equal(bx.valid_boxes(boxes), [True, False, False, False, False, False])
  np.testing.assert_array_equal(bx.valid_boxes(boxes, tolerance=0.02), [True, False, False, True, True, False])


def test_valid_boxes_matches_the_official_element_filter():
  # The LayoutGAN++ / LayoutDM RICO filter, element by element, in pixels with one canvas per layout.
  rng = np.random.default_rng(2)
  width, height = np.array([1440.0, 1080.0, 720.0, 500.0]), np.array([2560.0, 1920.0, 1280.0, 900.0])
  corners = rng.integers(-50, 2600, (4, 30, 2, 2)).astype(np.float64)
  boxes = corners.reshape(4, 30, 4)
  boxes[:, :5, 2] = boxes[:, :5, 0]  # some zero-width boxes
  out = bx.valid_boxes(boxes, width, height)
  for b in range(4):
    for s in range(30):
      x1, y1, x2, y2 = boxes[b, s]
      inside = not (x1 < 0 or y1 < 0 or width[b] < x2 or height[b] < y2)
      positive = not (x2 <= x1 or y2 <= y1)
      assert out[b, s] == (inside and positive), (b, s, boxes[b, s])
  assert out.any() and not out.all()


def test_valid_boxes_rejects_negative_tolerance():
  with pytest.raises(ValueError, match="tolerance must be >= 0, got -0.1"):
    bx.valid_boxes(np.zeros((1, 4)), tolerance=-0.1)


# ---------------------------------------------------------------------------------------------- area and IoU


def test_area_hand_worked():
  boxes = np.array([[0, 0, 2, 3], [1, 1, 1, 4], [2, 2, 1, 5]], np.float32)
  np.testing.assert_array_equal(bx.area(boxes), [6, 0, 0])


def test_intersection_and_iou_hand_worked():
  boxes = np.array([[[0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 6, 6]]], np.float64)
  np.testing.assert_allclose(bx.pairwise_intersection(boxes)[0], [[4, 1, 0], [1, 4, 0], [0, 0, 1]])
  np.testing.assert_allclose(bx.pairwise_iou(boxes)[0], [[1, 1 / 7, 0], [1 / 7, 1, 0], [0, 0, 1]])


def test_zero_area_boxes_give_zero_iou_without_warnings():
  boxes = np.array(
    [[[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.2, 0.5, 0.8, 0.5], [0.0, 0.0, 1.0, 1.0], [0.7, 0.7, 0.6, 0.6]]],
    np.float32,
  )  # a point twice, a segment, the canvas, an inverted box
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    iou = bx.pairwise_iou(boxes)
  expected = np.zeros((5, 5), np.float32)
  expected[3, 3] = 1
  np.testing.assert_array_equal(iou[0], expected)


def test_pairwise_matches_loop_on_random_batch():
  rng = np.random.default_rng(3)
  boxes = bx.cxcywh_to_ltrb(_random_cxcywh(rng, (3, 9)))
  boxes[:, 0, 2] = boxes[:, 0, 0]  # zero width
  boxes[:, 1] = boxes[:, 1, [2, 3, 0, 1]]  # inverted
  inter, iou = bx.pairwise_intersection(boxes), bx.pairwise_iou(boxes)
  assert inter.shape == iou.shape == (3, 9, 9)
  for b, i, j in itertools.product(range(3), range(9), range(9)):
    a_box, b_box = boxes[b, i].tolist(), boxes[b, j].tolist()
    assert inter[b, i, j] == pytest.approx(_loop_intersection(a_box, b_box), abs=1e-6)
    assert iou[b, i, j] == pytest.approx(_loop_iou(a_box, b_box), abs=1e-6)
  np.testing.assert_allclose(iou, np.swapaxes(iou, 1, 2))
  np.testing.assert_allclose(np.diagonal(iou, axis1=1, axis2=2)[:, 2:], 1, rtol=1e-6)


def test_pairwise_between_two_sets():
  rng = np.random.default_rng(4)
  a = bx.cxcywh_to_ltrb(_random_cxcywh(rng, (2, 4)))
  b = bx.cxcywh_to_ltrb(_random_cxcywh(rng, (2, 6)))
  iou = bx.pairwise_iou(a, b)
  assert iou.shape == (2, 4, 6)
  for k, i, j in itertools.product(range(2), range(4), range(6)):
    assert iou[k, i, j] == pytest.approx(_loop_iou(a[k, i].tolist(), b[k, j].tolist()), abs=1e-6)


def test_pairwise_needs_sets_of_boxes():
  with pytest.raises(ValueError, match=r"boxes_a must be a set of boxes \[..., S, 4\], got shape \(4,\)"):
    bx.pairwise_iou(np.zeros(4))
