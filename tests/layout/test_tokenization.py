"""Tests for research/layout/tokenization.py: hand-worked tokens, plain-Python references, round trips."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from research.layout import boxes as bx
from research.layout import tokenization as tk

NUM_CLASSES = 5


def _dyadic_layouts(
  rng: np.random.Generator, batch: int, slots: int, min_size: float = 1 / 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Boxes inside the canvas on a 1/1024 grid (exact in float32, so references agree bit for bit), padding
  interleaved and holding NaN."""
  size = rng.integers(int(min_size * 1024), 512, (batch, slots, 2)) / 1024
  left_top = rng.random((batch, slots, 2)) * (1 - size)
  left_top = np.floor(left_top * 1024) / 1024
  boxes = bx.ltwh_to_cxcywh(np.concatenate([left_top, size], axis=-1)).astype(np.float32)
  labels = rng.integers(0, NUM_CLASSES, (batch, slots)).astype(np.int32)
  mask = rng.random((batch, slots)) < 0.7
  mask[0] = True  # one full layout
  mask[1] = False  # one empty layout
  boxes[~mask] = np.nan
  labels[~mask] = 99
  return boxes, labels, mask


def _compacted(boxes: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> list[list[tuple[list[float], int]]]:
  """Per layout, its real elements (box, label) in the given order."""
  return [
    [(boxes[b, s].tolist(), int(labels[b, s])) for s in range(mask.shape[1]) if mask[b, s]]
    for b in range(mask.shape[0])
  ]


# ---------------------------------------------------------------------------------------------- uniform bins


def test_quantize_hand_worked():
  x = [0.0, 0.24, 0.25, 0.5, 0.99, 1.0, -0.3, 1.7]
  np.testing.assert_array_equal(tk.quantize(x, 4, "bins"), [0, 0, 1, 2, 3, 3, 0, 3])
  # Grid of 5 points 0, .25, .5, .75, 1; 0.125 and 0.375 are exact ties, rounded half to even as np.round does.
  np.testing.assert_array_equal(tk.quantize([0.0, 0.1, 0.125, 0.375, 0.9, 1.0], 5, "grid_round"), [0, 0, 0, 2, 4, 4])
  np.testing.assert_array_equal(tk.quantize([0.0, 0.1, 0.26, 0.99, 1.0], 5, "grid_floor"), [0, 0, 1, 3, 4])
  assert tk.quantize(0.5, 32, "grid_round") == 16  # BLT: round(0.5 * 31) = round(15.5) = 16
  assert tk.quantize(np.float32(0.3), 4).dtype == np.int32


def test_dequantize_hand_worked():
  np.testing.assert_allclose(tk.dequantize([0, 1, 3], 4, "bins"), [0.125, 0.375, 0.875])
  np.testing.assert_allclose(tk.dequantize([0, 2, 4], 5, "grid_round"), [0, 0.5, 1])
  np.testing.assert_allclose(tk.dequantize([0, 2, 4], 5, "grid_floor"), [0, 0.5, 1])
  assert tk.dequantize(np.array([1]), 4).dtype == np.float32


def _reference_quantize(x: float, n: int, rule: str) -> int:
  x = min(max(x, 0.0), 1.0)
  if rule == "bins":
    return min(math.floor(x * n), n - 1)
  if rule == "grid_round":
    return round(x * (n - 1))  # Python rounds half to even
  return math.floor(x * (n - 1))


@pytest.mark.parametrize("rule", tk.UNIFORM_RULES)
@pytest.mark.parametrize("num_bins", [32, 64, 128, 256])
def test_quantize_matches_scalar_reference_and_error_bound(rule, num_bins):
  rng = np.random.default_rng(num_bins)
  x = np.concatenate([rng.random(500), rng.normal(0.5, 0.7, 100), np.arange(num_bins + 1) / num_bins])
  q = tk.quantize(x, num_bins, rule)
  assert q.min() >= 0 and q.max() <= num_bins - 1
  np.testing.assert_array_equal(q, [_reference_quantize(v, num_bins, rule) for v in x.tolist()])
  error = np.abs(tk.dequantize(q, num_bins, rule) - np.clip(x, 0, 1))
  bound = {"bins": 1 / (2 * num_bins), "grid_round": 1 / (2 * (num_bins - 1)), "grid_floor": 1 / (num_bins - 1)}[rule]
  assert error.max() <= bound + 1e-6


@pytest.mark.parametrize("rule", ["bins", "grid_round"])
def test_quantize_inverts_dequantize(rule):
  q = np.arange(128)
  np.testing.assert_array_equal(tk.quantize(tk.dequantize(q, 128, rule), 128, rule), q)


def test_uniform_errors():
  for bad in (1, 0, 2.5, True):
    with pytest.raises(ValueError, match=f"num_bins must be an integer >= 2, got {bad!r}"):
      tk.quantize([0.5], bad)
  with pytest.raises(ValueError, match="Unknown quantization rule 'round'"):
    tk.quantize([0.5], 8, "round")
  with pytest.raises(ValueError, match="non-finite"):
    tk.quantize([0.5, np.nan], 8)
  with pytest.raises(ValueError, match=r"Bin ids must lie in \[0, 7\], got values in \[0, 8\]"):
    tk.dequantize([0, 8], 8)
  with pytest.raises(ValueError, match="Bin ids must be integers, got dtype float64"):
    tk.dequantize([0.0, 1.0], 8)


# ---------------------------------------------------------------------------------------------- k-means bins


def test_kmeans_finds_separated_clusters_exactly():
  rng = np.random.default_rng(0)
  clusters = [rng.normal(mean, 0.01, 200) for mean in (0.1, 0.5, 0.85)]
  values = rng.permutation(np.concatenate(clusters))
  for seed in range(3):
    centres = tk.fit_kmeans_bins(values, 3, seed=seed)
    assert centres.dtype == np.float32
    np.testing.assert_allclose(centres, [c.mean() for c in clusters], rtol=1e-6)


def test_kmeans_converges_to_a_lloyd_fixed_point():
  rng = np.random.default_rng(1)
  values = np.concatenate([rng.beta(2, 5, 3000), rng.random(1000)])
  centres = tk.fit_kmeans_bins(values, 16, seed=0)
  assert np.all(np.diff(centres) > 0)
  nearest = np.argmin(np.abs(values[:, None] - centres[None, :].astype(np.float64)), axis=1)  # brute force
  for k in range(16):
    assert centres[k] == pytest.approx(values[nearest == k].mean(), rel=1e-6)
  np.testing.assert_array_equal(centres, tk.fit_kmeans_bins(values, 16, seed=0))  # deterministic


def test_kmeans_subsample_is_seeded():
  values = np.random.default_rng(2).random(5000)
  a = tk.fit_kmeans_bins(values, 8, seed=3, max_values=500)
  np.testing.assert_array_equal(a, tk.fit_kmeans_bins(values, 8, seed=3, max_values=500))
  assert not np.array_equal(a, tk.fit_kmeans_bins(values, 8, seed=4, max_values=500))


def test_quantize_kmeans_is_nearest_centre():
  centres = np.array([0.1, 0.3, 0.6, 0.9], np.float32)
  x = np.array([-1.0, 0.1, 0.19, 0.21, 0.5, 0.74, 0.76, 2.0])
  np.testing.assert_array_equal(tk.quantize_kmeans(x, centres), [0, 0, 0, 1, 2, 2, 3, 3])
  assert tk.quantize_kmeans([0.5], np.array([0.25, 0.75])).tolist() == [0]  # a tie goes to the lower centre
  rng = np.random.default_rng(3)
  x = rng.random((7, 9))
  expected = np.argmin(np.abs(x[..., None] - centres), axis=-1)
  np.testing.assert_array_equal(tk.quantize_kmeans(x, centres), expected)
  np.testing.assert_array_equal(tk.dequantize_kmeans(expected, centres), centres[expected])


def test_fit_kmeans_box_bins_ignores_padding():
  rng = np.random.default_rng(4)
  boxes, labels, mask = _dyadic_layouts(rng, 6, 10)
  centres = tk.fit_kmeans_box_bins(boxes, mask, 8)
  assert centres.shape == (4, 8) and np.all(np.isfinite(centres))
  real = boxes[mask]
  for i in range(4):
    np.testing.assert_array_equal(centres[i], tk.fit_kmeans_bins(real[:, i], 8, max_values=real.shape[0]))


def test_kmeans_errors():
  with pytest.raises(ValueError, match="at least num_bins=8 distinct values, got 3"):
    tk.fit_kmeans_bins([0.1, 0.2, 0.3, 0.3], 8)
  with pytest.raises(ValueError, match="sorted in increasing order"):
    tk.quantize_kmeans([0.5], np.array([0.5, 0.1]))
  with pytest.raises(ValueError, match=r"1-D float array of >= 2 bin centres, got shape \(2, 2\)"):
    tk.quantize_kmeans([0.5], np.zeros((2, 2)))
  with pytest.raises(ValueError, match=r"Bin ids must lie in \[0, 1\]"):
    tk.dequantize_kmeans([2], np.array([0.1, 0.2]))


# ---------------------------------------------------------------------------------------------- orders


def _hand_layout() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  # (left, top, centre y): slot 0 (.375, .125, .5), slot 2 (.1875, .3125, .375), slot 3 (.1875, .125, .3125),
  # slot 4 (.1875, .125, .25): slots 3 and 4 tie in raster order. Slot 1 is padding holding NaN.
  boxes = np.array(
    [
      [
        [0.5, 0.5, 0.25, 0.75],
        [np.nan] * 4,
        [0.25, 0.375, 0.125, 0.125],
        [0.25, 0.3125, 0.125, 0.375],
        [0.3125, 0.25, 0.25, 0.25],
      ]
    ],
    np.float32,
  )
  labels = np.array([[2, 0, 1, 2, 0]])
  mask = np.array([[True, False, True, True, True]])
  return boxes, labels, mask


def test_orders_hand_worked():
  boxes, labels, mask = _hand_layout()
  order = {name: tk.element_order(boxes, labels, mask, name)[0].tolist() for name in tk.ORDERS if name != "random"}
  assert order["raster"] == [3, 4, 0, 2, 1]  # top .125 thrice (3 before 4 by index, 0 further right), then .3125
  assert order["raster_centre"] == [4, 3, 2, 0, 1]  # centre y .25, .3125, .375, .5
  assert order["category"] == [4, 2, 3, 0, 1]  # labels 0, 1, 2, 2; label 2 by raster
  assert order["given"] == [0, 2, 3, 4, 1]


def _reference_order(boxes: np.ndarray, labels: np.ndarray, mask: np.ndarray, order: str) -> list[int]:
  def key(s: int) -> tuple:
    cx, cy, w, h = boxes[s].tolist()
    top_left = (cy - h / 2, cx - w / 2)
    return {"raster": top_left, "raster_centre": (cy, cx), "category": (int(labels[s]),) + top_left, "given": ()}[order]

  real = [s for s in range(len(mask)) if mask[s]]
  return sorted(real, key=key) + [s for s in range(len(mask)) if not mask[s]]


@pytest.mark.parametrize("order", ["raster", "raster_centre", "category", "given"])
def test_orders_match_python_sorted(order):
  rng = np.random.default_rng(5)
  boxes, labels, mask = _dyadic_layouts(rng, 8, 12)
  labels[0, :4] = 3  # ties in label
  boxes[0, 4:8] = boxes[0, 0]  # ties in position
  perm = tk.element_order(boxes, labels, mask, order)
  for b in range(8):
    assert perm[b].tolist() == _reference_order(boxes[b], labels[b], mask[b], order)


def test_random_order_is_a_seeded_permutation_with_padding_last():
  rng = np.random.default_rng(6)
  boxes, labels, mask = _dyadic_layouts(rng, 5, 20)
  perm = tk.element_order(boxes, labels, mask, "random", seed=7)
  np.testing.assert_array_equal(perm, tk.element_order(boxes, labels, mask, "random", seed=7))
  assert not np.array_equal(perm, tk.element_order(boxes, labels, mask, "random", seed=8))
  np.testing.assert_array_equal(np.sort(perm, axis=1), np.broadcast_to(np.arange(20), (5, 20)))
  counts = mask.sum(axis=1)
  for b in range(5):
    assert set(perm[b, : counts[b]].tolist()) == set(np.flatnonzero(mask[b]).tolist())


@pytest.mark.parametrize("order", tk.ORDERS)
def test_reorder_keeps_elements_and_puts_padding_last(order):
  rng = np.random.default_rng(7)
  boxes, labels, mask = _dyadic_layouts(rng, 6, 9)
  new_boxes, new_labels, new_mask = tk.reorder(boxes, labels, mask, order, seed=1)
  counts = mask.sum(axis=1)
  np.testing.assert_array_equal(new_mask, np.arange(9) < counts[:, None])  # a prefix: padding last
  for b in range(6):
    before = sorted((tuple(box), lab) for box, lab in _compacted(boxes, labels, mask)[b])
    after = sorted((tuple(box), lab) for box, lab in _compacted(new_boxes, new_labels, new_mask)[b])
    assert before == after


def test_order_errors():
  boxes, labels, mask = _hand_layout()
  with pytest.raises(ValueError, match="Unknown element order 'zigzag'"):
    tk.element_order(boxes, labels, mask, "zigzag")
  with pytest.raises(ValueError, match=r"labels \(1, 4\) and mask \(1, 5\) must both have shape \[B, S\]"):
    tk.reorder(boxes, labels[:, :4], mask, "raster")
  with pytest.raises(ValueError, match=r"boxes must be \[B, S, 4\], got shape \(5, 4\)"):
    tk.reorder(boxes[0], labels[0], mask[0], "raster")
  with pytest.raises(ValueError, match="labels must be integers, got dtype float64"):
    tk.reorder(boxes, labels.astype(float), mask, "raster")


# ---------------------------------------------------------------------------------------------- formats


def test_vocabulary_layouts():
  lt = tk.layout_transformer_format(5)  # DeepLayout: vocab = 2^8 + C + 3, bos/eos/pad the last three ids
  assert (lt.vocab_size, lt.bos_id, lt.eos_id, lt.pad_id, lt.mask_id) == (264, 261, 262, 263, None)
  assert lt.field_range("c") == (256, 261) and all(lt.field_range(f) == (0, 256) for f in "xywh")
  blt = tk.blt_format(25)  # layout-blt RICO config: vocab_size = 157
  assert (blt.vocab_size, blt.pad_id, blt.bos_id, blt.eos_id, blt.mask_id) == (157, 0, 1, 2, 3)
  assert [blt.field_range(f) for f in tk.FIELDS] == [(4, 29), (29, 61), (61, 93), (93, 125), (125, 157)]
  assert blt.element_tokens == ("c", "w", "h", "x", "y")
  dm = tk.layoutdm_format(25)  # layout-dm: C + 4 n bins + (pad, mask)
  assert (dm.vocab_size, dm.pad_id, dm.mask_id, dm.bos_id) == (155, 153, 154, None)
  assert [dm.field_range(f) for f in tk.FIELDS] == [(0, 25), (25, 57), (57, 89), (89, 121), (121, 153)]
  assert (lt.seq_len(25), blt.seq_len(22), dm.seq_len(25)) == (127, 110, 125)
  assert (lt.max_elements(127), blt.max_elements(128), dm.max_elements(125)) == (25, 25, 25)


def test_layout_transformer_tokens_hand_worked():
  fmt = tk.layout_transformer_format(NUM_CLASSES)
  # Centre box (.5, .5, .25, .5) = top-left (.375, .25, .25, .5); x 255: 95.625, 63.75, 63.75, 127.5 (tie -> 128).
  boxes, labels, mask = np.array([[[0.5, 0.5, 0.25, 0.5]]]), np.array([[2]]), np.array([[True]])
  np.testing.assert_array_equal(tk.encode(fmt, boxes, labels, mask), [[261, 258, 96, 64, 64, 128, 262]])
  np.testing.assert_array_equal(
    tk.encode(fmt, boxes, labels, ~mask, seq_len=9), [[261, 262, 263, 263, 263, 263, 263, 263, 263]]
  )


def test_blt_tokens_hand_worked():
  fmt = tk.blt_format(25)
  # x 31: 15.5 -> 16, 7.75 -> 8; w 7.75 -> 8, h 23.25 -> 23; a width of 0.001 is clipped up to bin 1.
  boxes = np.array([[[0.5, 0.25, 0.25, 0.75], [0.5, 0.25, 0.001, 0.75]]])
  tokens = tk.encode(fmt, boxes, np.array([[3, 0]]), np.array([[True, True]]), seq_len=12)
  np.testing.assert_array_equal(tokens, [[7, 101, 148, 45, 69, 4, 94, 148, 45, 69, 0, 0]])
  with_eos = tk.encode(tk.blt_format(25, add_bos_eos=True), boxes[:, :1], np.array([[3]]), np.array([[True]]))
  np.testing.assert_array_equal(with_eos, [[1, 7, 101, 148, 45, 69, 2]])


def test_layoutdm_tokens_hand_worked():
  fmt = tk.layoutdm_format(25, num_bins=4)
  centres = np.tile(np.array([0.1, 0.3, 0.6, 0.9], np.float32), (4, 1))
  # x .5 -> .6 (bin 2), y .25 -> .3 (1), w .25 -> .3 (1), h .8 -> .9 (3); empty slot: all pad (25 + 16 = 41).
  boxes = np.array([[[0.5, 0.25, 0.25, 0.8], [np.nan] * 4]])
  tokens = tk.encode(fmt, boxes, np.array([[3, 0]]), np.array([[True, False]]), centres=centres)
  np.testing.assert_array_equal(tokens, [[3, 27, 30, 34, 40] + [41] * 5])
  decoded = tk.decode(fmt, tokens, centres=centres)
  np.testing.assert_allclose(decoded.boxes[0, 0], [0.6, 0.3, 0.3, 0.9])
  assert decoded.labels[0].tolist() == [3, 0] and decoded.mask[0].tolist() == [True, False]


def _reference_encode(fmt: tk.SequenceFormat, boxes: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> list[list]:
  """Plain-Python encoder written from the official rules (uniform grid formats)."""
  n = fmt.num_bins
  sequences = []
  for elements in _compacted(boxes, labels, mask):
    tokens = [fmt.bos_id] if fmt.add_bos_eos else []
    for (cx, cy, w, h), label in elements:
      if fmt.name == "layout_transformer":  # DeepLayout: [c, x, y, w, h] of the top-left box, bins first
        tokens += [n + label] + [round(v * (n - 1)) for v in (cx - w / 2, cy - h / 2, w, h)]
      else:  # layout-blt: [c, w, h, x, y] of the centre box; sizes clipped to >= 1 bin
        start = 4 + fmt.num_classes
        bins = [round(cx * (n - 1)), round(cy * (n - 1)), max(round(w * (n - 1)), 1), max(round(h * (n - 1)), 1)]
        tokens += [4 + label, start + 2 * n + bins[2], start + 3 * n + bins[3], start + bins[0], start + n + bins[1]]
    if fmt.add_bos_eos:
      tokens.append(fmt.eos_id)
    sequences.append(tokens + [fmt.pad_id] * (fmt.seq_len(mask.shape[1]) - len(tokens)))
  return sequences


@pytest.mark.parametrize(
  "fmt",
  [
    tk.layout_transformer_format(NUM_CLASSES),
    tk.blt_format(NUM_CLASSES),
    tk.blt_format(NUM_CLASSES, num_bins=64, add_bos_eos=True),
  ],
  ids=lambda f: f.name,
)
def test_encode_matches_plain_python_reference(fmt):
  boxes, labels, mask = _dyadic_layouts(np.random.default_rng(8), 6, 7)
  np.testing.assert_array_equal(tk.encode(fmt, boxes, labels, mask), _reference_encode(fmt, boxes, labels, mask))


def _formats_with_centres(boxes: np.ndarray, mask: np.ndarray) -> list[tuple[tk.SequenceFormat, np.ndarray | None]]:
  return [
    (tk.layout_transformer_format(NUM_CLASSES), None),
    (tk.layout_transformer_format(NUM_CLASSES, num_bins=128), None),
    (tk.blt_format(NUM_CLASSES), None),
    (tk.blt_format(NUM_CLASSES, add_bos_eos=True), None),
    (tk.layoutdm_format(NUM_CLASSES, num_bins=16), tk.fit_kmeans_box_bins(boxes, mask, 16)),
    (tk.layoutdm_format(NUM_CLASSES, num_bins=64, quantization="bins"), None),
  ]


def test_encode_decode_round_trip_every_format():
  boxes, labels, mask = _dyadic_layouts(np.random.default_rng(9), 8, 10, min_size=1 / 16)
  given = tk.reorder(boxes, labels, mask, "given")
  for fmt, centres in _formats_with_centres(boxes, mask):
    tokens = tk.encode(fmt, boxes, labels, mask, centres=centres)
    assert tokens.shape == (8, fmt.seq_len(10)) and tokens.dtype == np.int32
    assert tokens.min() >= 0 and tokens.max() < fmt.vocab_size
    decoded = tk.decode(fmt, tokens, centres=centres)
    assert not decoded.malformed.any(), fmt.name
    np.testing.assert_array_equal(decoded.mask, given[2])
    np.testing.assert_array_equal(decoded.labels[given[2]], given[1][given[2]])
    assert np.all(decoded.boxes[~given[2]] == 0) and np.all(decoded.labels[~given[2]] == 0)
    real = bx.convert(given[0][given[2]], "cxcywh", fmt.box_format)  # [N, 4] in the format's own box values
    back = bx.convert(decoded.boxes[given[2]], "cxcywh", fmt.box_format)
    if centres is None:
      n = fmt.num_bins
      half_bin = 1 / (2 * n) if fmt.quantization == "bins" else 1 / (2 * (n - 1))
      assert np.abs(back - real).max() <= half_bin + 1e-6, fmt.name
    else:
      nearest = [centres[i][np.argmin(np.abs(real[:, i, None] - centres[i]), axis=1)] for i in range(4)]
      np.testing.assert_allclose(back, np.stack(nearest, axis=1), atol=1e-6)
    np.testing.assert_array_equal(tk.encode(fmt, *decoded[:3], centres=centres), tokens)


def test_decode_pads_to_the_slots_of_the_sequence():
  fmt = tk.blt_format(NUM_CLASSES)
  boxes, labels, mask = _dyadic_layouts(np.random.default_rng(10), 3, 4, min_size=1 / 16)
  decoded = tk.decode(fmt, tk.encode(fmt, boxes, labels, mask, seq_len=23))  # 4 slots and 3 trailing pads
  assert decoded.boxes.shape == (3, 4, 4) and not decoded.malformed.any()
  assert tk.decode(fmt, tk.encode(fmt, boxes, labels, mask, seq_len=30)).mask.shape == (3, 6)


def _two_element_tokens(fmt: tk.SequenceFormat, slots: int) -> np.ndarray:
  boxes = np.array([[[0.5, 0.5, 0.25, 0.5], [0.25, 0.25, 0.25, 0.25]]])
  return tk.encode(fmt, boxes, np.array([[1, 2]]), np.array([[True, True]]), seq_len=fmt.seq_len(slots))[0]


def test_decode_reports_malformed_layout_transformer_sequences():
  fmt = tk.layout_transformer_format(NUM_CLASSES)
  good = _two_element_tokens(fmt, 3)  # bos, 2 elements, eos, 5 pads
  garbage_after_eos = good.copy()
  garbage_after_eos[-3:] = [fmt.bos_id, 7, fmt.class_offset]
  no_bos = good.copy()
  no_bos[0] = fmt.pad_id
  no_eos = good.copy()
  no_eos[11] = fmt.pad_id
  eos_inside = good.copy()
  eos_inside[8] = fmt.eos_id
  pad_slot_first = np.concatenate([[fmt.bos_id], [fmt.pad_id] * 5, good[1:-5]])
  bin_as_class = good.copy()
  bin_as_class[6] = 3
  decoded = tk.decode(
    fmt, np.stack([good, garbage_after_eos, no_bos, no_eos, eos_inside, pad_slot_first, bin_as_class])
  )
  assert decoded.malformed.tolist() == [False, False, True, True, True, True, True]
  assert decoded.mask.sum(axis=1).tolist() == [2, 2, 2, 2, 1, 2, 1]
  assert decoded.labels[:, 0].tolist() == [1, 1, 1, 1, 1, 1, 1]
  assert decoded.labels[5, 1] == 2  # the element after the pad slot is still read


def test_decode_reports_malformed_blt_and_layoutdm_sequences():
  blt = tk.blt_format(NUM_CLASSES)
  good = _two_element_tokens(blt, 3)  # 2 elements, 1 pad slot
  pad_between = np.concatenate([good[:5], good[10:], good[5:10]])  # fine without eos: pad slots are empty
  masked = good.copy()
  masked[2] = blt.mask_id
  stray = np.concatenate([good, [blt.class_offset]])  # a token after the last whole slot
  decoded = tk.decode(blt, np.stack([good, pad_between, masked, good]))
  assert decoded.malformed.tolist() == [False, False, True, False]
  assert decoded.mask.sum(axis=1).tolist() == [2, 2, 1, 2]
  assert decoded.labels[2, 0] == 2  # the corrupt first element is dropped, the second kept
  np.testing.assert_array_equal(decoded.boxes[1], decoded.boxes[0])
  assert tk.decode(blt, stray[None]).malformed.tolist() == [True]

  dm = tk.layoutdm_format(NUM_CLASSES, num_bins=8, quantization="bins")
  tokens = _two_element_tokens(dm, 2)
  half_pad = tokens.copy()
  half_pad[7:10] = dm.pad_id
  x_bin_as_y = tokens.copy()
  x_bin_as_y[1] = dm.field_range("y")[0]
  decoded = tk.decode(dm, np.stack([tokens, half_pad, x_bin_as_y]))
  assert decoded.malformed.tolist() == [False, True, True]
  assert decoded.mask.sum(axis=1).tolist() == [2, 1, 1]


def test_format_errors():
  fmt = tk.layoutdm_format(NUM_CLASSES)
  boxes, labels, mask = np.full((1, 2, 4), 0.5), np.array([[0, 5]]), np.array([[True, True]])
  with pytest.raises(
    ValueError,
    match=r"Labels of real elements must lie in \[0, num_classes=5\), got values in "
    r"\[0, 5\]",
  ):
    tk.encode(tk.blt_format(NUM_CLASSES), boxes, labels, mask)
  with pytest.raises(ValueError, match="pass centres \\[4, 32\\]"):
    tk.encode(fmt, boxes, labels % 5, mask)
  with pytest.raises(ValueError, match=r"centres must have shape \[4, num_bins\] = \[4, 32\], got \(32,\)"):
    tk.decode(fmt, np.zeros((1, 10), np.int32), centres=np.linspace(0, 1, 32))
  with pytest.raises(ValueError, match="seq_len=9 is too short for 2 elements in format 'blt'; it needs at least 10"):
    tk.encode(tk.blt_format(NUM_CLASSES), boxes, labels % 5, mask, seq_len=9)
  with pytest.raises(ValueError, match=r"tokens must be an integer array \[B, L\] with L >= 2"):
    tk.decode(tk.layout_transformer_format(NUM_CLASSES), np.zeros((1, 1), np.int32))
  with pytest.raises(ValueError, match="got shape \\(7,\\) and dtype int64"):
    tk.decode(fmt, np.zeros(7, np.int64))
  with pytest.raises(ValueError, match="num_classes must be an integer >= 1, got 0"):
    tk.blt_format(0)
  with pytest.raises(ValueError, match="num_bins must be an integer >= 2, got 1"):
    tk.layout_transformer_format(3, num_bins=1)
  with pytest.raises(ValueError, match="quantization must be one of"):
    tk.layoutdm_format(3, quantization="percentile")
  with pytest.raises(ValueError, match="Unknown field 'z'"):
    fmt.field_range("z")
  with pytest.raises(ValueError, match="element_tokens must be a permutation of"):
    dataclasses.replace(fmt, element_tokens=("c", "x", "x", "w", "h"))
  with pytest.raises(ValueError, match="Format 'layoutdm' adds bos/eos but has bos_id=None, eos_id=None"):
    dataclasses.replace(fmt, add_bos_eos=True)
  with pytest.raises(ValueError, match=r"mask \(2,\) must match boxes \(2, 3, 4\)"):
    tk.fit_kmeans_box_bins(np.zeros((2, 3, 4)), np.ones(2, bool), 4)


# ---------------------------------------------------------------------------------------------- batching


def test_pad_layouts():
  layouts = [
    (np.array([[0.5, 0.5, 0.2, 0.2]]), np.array([3])),
    (np.zeros((0, 4)), np.array([], np.int64)),
    ([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]], [1, 2]),
  ]
  boxes, labels, mask = tk.pad_layouts(layouts, 3)
  assert boxes.shape == (3, 3, 4) and boxes.dtype == np.float32 and labels.dtype == np.int32
  np.testing.assert_array_equal(mask, [[True, False, False], [False] * 3, [True, True, False]])
  np.testing.assert_allclose(boxes[2, 1], [0.5, 0.6, 0.7, 0.8])
  np.testing.assert_array_equal(labels, [[3, 0, 0], [0, 0, 0], [1, 2, 0]])
  assert np.all(boxes[~mask] == 0)
  assert tk.pad_layouts([([], [])], 2)[2].tolist() == [[False, False]]


def test_pad_layouts_errors_name_the_layout():
  ok = (np.zeros((2, 4)), np.zeros(2, np.int32))
  with pytest.raises(ValueError, match="Layout 1 has 3 elements, more than max_elements=2"):
    tk.pad_layouts([ok, (np.zeros((3, 4)), np.zeros(3, np.int32))], 2)
  with pytest.raises(ValueError, match=r"Layout 1 has boxes of shape \(2, 3\) and labels of shape \(2,\)"):
    tk.pad_layouts([ok, (np.zeros((2, 3)), np.zeros(2, np.int32))], 4)
  with pytest.raises(ValueError, match="Layout 0 has boxes .* and labels of shape \\(2,\\) \\(float64\\)"):
    tk.pad_layouts([(np.zeros((2, 4)), np.zeros(2))], 4)
  with pytest.raises(ValueError, match="max_elements must be an integer >= 0, got -1"):
    tk.pad_layouts([ok], -1)
