"""Discretisation, element orders and token-sequence formats of layout transformers.

Uniform discretisation (`quantize`, `dequantize`) of a normalised coordinate x, clipped to [0, 1] first as
every official code does, into n bins q in [0, n-1]; three rules:

- "bins": q = min(floor(n x), n - 1), decoded to the bin centre (q + 1/2) / n. |x - x'| <= 1 / (2n).
- "grid_round": q = round(x (n - 1)) (half to even), decoded to q / (n - 1), the n grid points from 0 to 1.
  |x - x'| <= 1 / (2(n - 1)). LayoutTransformer (DeepLayout layout_transformer/dataset.py, `quantize_box`,
  n = 2^precision = 256) and BLT (layout-blt input_pipeline.py, `_convert_entry_to_model_format`, n = 32).
- "grid_floor": q = floor(x (n - 1)), decoded to q / (n - 1). |x - x'| < 1 / (n - 1). LayoutFormer++
  (LayoutGeneration LayoutFormer++/src/data/transforms.py, `DiscretizeBoundingBox`, n = 128).

(LayoutDM's "linear" option, helpers/bbox_tokenizer.py, is a fourth rule, round(n x) with sizes shifted by one
bin; LayoutDM itself uses k-means bins.)

K-means bins (LayoutDM; layout-dm bin/clustering_coordinates.py and helpers/bbox_tokenizer.py): one sorted set
of n centres per coordinate (x, y, w, h of centre boxes), fitted by 1-D k-means on the training split's values
(at most 1e5 boxes, subsampled with the seed); a value maps to its nearest centre (`quantize_kmeans`) and
decodes to it (`dequantize_kmeans`). LayoutDM fits with scikit-learn's KMeans; `fit_kmeans_bins` runs k-means++
seeding and Lloyd's algorithm, so its centres are close to LayoutDM's released ones but not identical: pass
those to reproduce LayoutDM's tokens exactly.

Element orders (`element_order`, `reorder`); padding always goes last and ties keep the given order:

- "raster": by top edge, then left edge. LayoutTransformer (np.lexsort((x, y)) on COCO top-left boxes),
  LayoutFormer++ (`LexicographicSort`) and LayoutDM (`LexicographicOrder`).
- "raster_centre": by centre y, then centre x. BLT (`_normalize_entries`, key (center[1], center[0])).
- "category": by label, then "raster". LayoutDM's `SortByLabel` sorts by label id; LayoutFormer++'s
  `LabelDictSort` sorts by label name, which is this order once labels are renumbered alphabetically.
- "random": a seeded random permutation per layout; LayoutDM's training order (`RandomOrder`).
- "given": the order as stored, with padding moved last.

Sequence formats (`SequenceFormat`, built by `layout_transformer_format`, `blt_format`, `layoutdm_format`; used by
`encode` and `decode`). Each element is 5 tokens; "x", "y" are the top-left corner or the centre as the format
says. Vocabulary layouts (C classes, n bins):

- LayoutTransformer (Gupta et al., ICCV 2021; DeepLayout `JSONLayout`, `Padding`): element (c, x, y, w, h) of the
  top-left box; ids [0, n) are bins shared by x, y, w, h, then C classes, then bos, eos, pad (vocab n + C + 3);
  sequence [bos, elements..., eos, pad...]. DeepLayout quantises pixels as round((x_px / (W - 1)) (n - 1)) with
  sizes w_px - 1; here the rule is applied to normalised values.
- BLT (Kong et al., ECCV 2022; layout-blt `LayoutDataset`): element (c, w, h, x, y) of the centre box; ids pad 0,
  bos 1, eos 2, mask 3, C classes from 4, then bins of x, y, w, h, n each (vocab 4 + C + 4n, 157 for RICO's 25
  classes at n = 32); sizes are at least bin 1. BLT's own sequences carry no bos/eos (`add_bos=False`) and are
  padded with pad (layout-blt: at most 22 elements in 128 tokens); layout-blt's autoregressive transformer
  wraps them in bos ... eos (`add_bos_eos=True`).
  BLT's metrics divide bins by n, not n - 1; `decode` inverts the encoding instead.
- LayoutDM (Inoue et al., CVPR 2023; layout-dm `LayoutSequenceTokenizer` with shared_bbox_vocab "x-y-w-h"):
  element (c, x, y, w, h) of the centre box; ids C classes, then bins of x, y, w, h, n each, then pad, mask
  (vocab C + 4n + 2); fixed length 5 S, every token of an empty slot is pad; k-means bins by default.

`decode` reads what `encode` writes and reports malformed sequences: for bos/eos formats a missing bos or eos, an
eos inside an element, or a pad slot before the eos; for all formats an element whose tokens fall outside their
fields' ranges (e.g. a mask or special token); for formats without eos, non-pad tokens after the last whole
slot. Tokens after the eos are ignored. Well-formed elements are kept even in a malformed sequence, as LayoutDM's
decoder keeps them.

`pad_layouts` batches variable-size layouts into the package's padded [B, S, ...] arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from research.layout import boxes as box_ops

UniformRule = Literal["bins", "grid_round", "grid_floor"]
UNIFORM_RULES = ("bins", "grid_round", "grid_floor")
QUANTIZATIONS = UNIFORM_RULES + ("kmeans",)
Order = Literal["raster", "raster_centre", "category", "random", "given"]
ORDERS = ("raster", "raster_centre", "category", "random", "given")
FIELDS = ("c", "x", "y", "w", "h")  # class, then the 4 box values in the format's box_format
COORDS = FIELDS[1:]
TOKENS_PER_ELEMENT = len(FIELDS)


# ---------------------------------------------------------------------------------------------- uniform bins


def _check_count(name: str, value: int, minimum: int) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")


def _check_num_bins(num_bins: int) -> None:
  _check_count("num_bins", num_bins, 2)


def _check_rule(rule: str) -> None:
  if rule not in UNIFORM_RULES:
    raise ValueError(f"Unknown quantization rule {rule!r}; choose one of {UNIFORM_RULES}.")


def _finite_floats(x: ArrayLike, name: str) -> np.ndarray:
  x = np.asarray(x)
  x = x.astype(np.result_type(x.dtype, np.float32), copy=False)
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{name} holds non-finite values (NaN or inf); replace padded entries by 0 before quantizing.")
  return x


def _check_bin_ids(q: ArrayLike, num_bins: int) -> np.ndarray:
  q = np.asarray(q)
  if not np.issubdtype(q.dtype, np.integer):
    raise ValueError(f"Bin ids must be integers, got dtype {q.dtype}.")
  if q.size and (q.min() < 0 or q.max() >= num_bins):
    raise ValueError(f"Bin ids must lie in [0, {num_bins - 1}], got values in [{q.min()}, {q.max()}].")
  return q


def quantize(x: ArrayLike, num_bins: int, rule: UniformRule = "bins") -> np.ndarray:
  """Bin ids [...] int32 in [0, num_bins - 1] of normalised values x [...] (clipped to [0, 1]); see module doc."""
  _check_num_bins(num_bins)
  _check_rule(rule)
  x = np.clip(_finite_floats(x, "x"), 0, 1)
  if rule == "bins":
    q = np.minimum(np.floor(x * num_bins), num_bins - 1)
  elif rule == "grid_round":
    q = np.rint(x * (num_bins - 1))
  else:
    q = np.floor(x * (num_bins - 1))
  return q.astype(np.int32)


def dequantize(q: ArrayLike, num_bins: int, rule: UniformRule = "bins") -> np.ndarray:
  """Values [...] float32 of bin ids q [...]: bin centres (q + 1/2)/n for "bins", grid points q/(n - 1) otherwise."""
  _check_num_bins(num_bins)
  _check_rule(rule)
  q = _check_bin_ids(q, num_bins).astype(np.float32)
  if rule == "bins":
    return (q + 0.5) / num_bins
  return q / (num_bins - 1)


# ---------------------------------------------------------------------------------------------- k-means bins


def _check_centres(centres: ArrayLike) -> np.ndarray:
  centres = np.asarray(centres)
  if centres.ndim != 1 or centres.shape[0] < 2 or not np.issubdtype(centres.dtype, np.floating):
    raise ValueError(
      f"centres must be a 1-D float array of >= 2 bin centres, got shape {centres.shape} and dtype {centres.dtype}."
    )
  if not np.all(np.isfinite(centres)) or np.any(np.diff(centres) < 0):
    raise ValueError(
      "centres must be finite and sorted in increasing order; sort them (np.sort) or fit them with fit_kmeans_bins."
    )
  return centres


def _nearest_centre(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
  """Index [...] of the nearest of sorted centres [K] to each x [...]; a tie goes to the lower centre."""
  midpoints = (centres[:-1].astype(np.float64) + centres[1:]) / 2  # [K - 1]
  return np.searchsorted(midpoints, x, side="left")


def _kmeans_plus_plus(values: np.ndarray, num_bins: int, rng: np.random.Generator) -> np.ndarray:
  """k-means++ seeding (Arthur & Vassilvitskii 2007): each next centre drawn with probability ~ D(x)^2."""
  centres = [values[rng.integers(values.size)]]
  dist2 = (values - centres[0]) ** 2  # [N]
  for _ in range(num_bins - 1):
    centres.append(values[rng.choice(values.size, p=dist2 / dist2.sum())])
    dist2 = np.minimum(dist2, (values - centres[-1]) ** 2)
  return np.sort(np.asarray(centres))


def _lloyd(values: np.ndarray, centres: np.ndarray, max_iters: int) -> np.ndarray:
  """Lloyd's iterations in 1-D until the centres stop moving; an empty cluster keeps its centre."""
  for _ in range(max_iters):
    assignment = _nearest_centre(values, centres)  # [N]
    counts = np.bincount(assignment, minlength=centres.size)
    sums = np.bincount(assignment, weights=values, minlength=centres.size)
    updated = np.sort(np.where(counts > 0, sums / np.maximum(counts, 1), centres))
    if np.array_equal(updated, centres):
      break
    centres = updated
  return centres


def fit_kmeans_bins(
  values: ArrayLike, num_bins: int, seed: int = 0, max_values: int = 100_000, max_iters: int = 300
) -> np.ndarray:
  """Sorted k-means bin centres [num_bins] float32 of one coordinate's values, as LayoutDM fits them.

  Args:
    values: the training split's values of one coordinate (any shape; real elements only).
    num_bins: number of centres (LayoutDM: 32).
    seed: seeds the subsample and the k-means++ seeding.
    max_values: fit on a random subsample of this many values when there are more (LayoutDM: 1e5 boxes).
    max_iters: cap on Lloyd iterations.
  """
  _check_num_bins(num_bins)
  values = _finite_floats(values, "values").astype(np.float64).ravel()
  rng = np.random.default_rng(seed)
  if values.size > max_values:
    values = rng.choice(values, max_values, replace=False)
  distinct = np.unique(values).size
  if distinct < num_bins:
    raise ValueError(
      f"k-means needs at least num_bins={num_bins} distinct values, got {distinct}; fit on more data or use fewer bins."
    )
  centres = _lloyd(values, _kmeans_plus_plus(values, num_bins, rng), max_iters)
  return centres.astype(np.float32)


def fit_kmeans_box_bins(
  boxes: ArrayLike, mask: ArrayLike, num_bins: int, seed: int = 0, max_boxes: int = 100_000
) -> np.ndarray:
  """k-means bin centres [4, num_bins] of x, y, w, h over the real boxes of [B, S, 4] (LayoutDM's k-means bins).

  As LayoutDM does, at most `max_boxes` boxes are drawn (with `seed`) and each coordinate is fitted on them.
  """
  boxes, mask = box_ops.as_boxes(boxes), np.asarray(mask, bool)
  if boxes.shape[:-1] != mask.shape:
    raise ValueError(f"mask {mask.shape} must match boxes {boxes.shape} without their last axis.")
  real = boxes[mask]  # [N, 4]
  if real.shape[0] > max_boxes:
    real = real[np.random.default_rng(seed).choice(real.shape[0], max_boxes, replace=False)]
  return np.stack([fit_kmeans_bins(real[:, i], num_bins, seed, max_values=real.shape[0]) for i in range(4)])


def quantize_kmeans(x: ArrayLike, centres: ArrayLike) -> np.ndarray:
  """Bin ids [...] int32: the index of the nearest of the sorted centres [K] to each x [...]."""
  centres = _check_centres(centres)
  return _nearest_centre(_finite_floats(x, "x"), centres).astype(np.int32)


def dequantize_kmeans(q: ArrayLike, centres: ArrayLike) -> np.ndarray:
  """Values [...] of bin ids q [...]: the centres they index."""
  centres = _check_centres(centres)
  return centres[_check_bin_ids(q, centres.shape[0])]


# ---------------------------------------------------------------------------------------------- orders


def check_layouts(boxes: ArrayLike, labels: ArrayLike, mask: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Validated batch: boxes [B, S, 4] float, labels [B, S] integer, mask [B, S] bool."""
  boxes = box_ops.as_boxes(boxes)
  labels, mask = np.asarray(labels), np.asarray(mask)
  if boxes.ndim != 3:
    raise ValueError(f"boxes must be [B, S, 4], got shape {boxes.shape}; batch single layouts with pad_layouts.")
  if labels.shape != boxes.shape[:2] or mask.shape != boxes.shape[:2]:
    raise ValueError(
      f"labels {labels.shape} and mask {mask.shape} must both have shape [B, S] = {boxes.shape[:2]} to match boxes."
    )
  if labels.size and not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels must be integers, got dtype {labels.dtype}.")
  return boxes, labels, mask.astype(bool)


def _sort_keys(boxes: np.ndarray, labels: np.ndarray, order: str, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
  """Sort keys [B, S] of one order, least significant first (np.lexsort's convention)."""
  if order == "random":
    return (rng.random(labels.shape),)
  if order == "given":
    return ()
  if order == "raster_centre":
    return (boxes[..., 0], boxes[..., 1])  # cx, then cy
  left_top = box_ops.cxcywh_to_ltwh(boxes)
  raster = (left_top[..., 0], left_top[..., 1])  # left, then top
  return raster + (labels,) if order == "category" else raster


def element_order(
  boxes: ArrayLike, labels: ArrayLike, mask: ArrayLike, order: Order, seed: int | np.random.Generator = 0
) -> np.ndarray:
  """Permutation [B, S] per layout that sorts its elements by `order` (see module doc) and puts padding last.

  Args:
    boxes: [B, S, 4] normalised centre boxes.
    labels: [B, S] class ids.
    mask: [B, S] True for real elements.
    order: "raster", "raster_centre", "category", "random" or "given".
    seed: seed or generator of the "random" order.

  Returns:
    [B, S] int: out[b, k] is the slot of layout b that goes to position k; real elements come first.
  """
  return _permutation(*check_layouts(boxes, labels, mask), order, seed)


def _permutation(
  boxes: np.ndarray, labels: np.ndarray, mask: np.ndarray, order: Order, seed: int | np.random.Generator
) -> np.ndarray:
  """`element_order` of a checked batch."""
  if order not in ORDERS:
    raise ValueError(f"Unknown element order {order!r}; choose one of {ORDERS}.")
  boxes = np.where(mask[..., None], boxes, 0)  # padded slots may hold NaN
  labels = np.where(mask, labels, 0)
  keys = _sort_keys(boxes, labels, order, np.random.default_rng(seed))
  return np.lexsort(keys + (~mask,), axis=-1)  # stable: ties keep the given order


def reorder(
  boxes: ArrayLike, labels: ArrayLike, mask: ArrayLike, order: Order, seed: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """boxes [B, S, 4], labels [B, S], mask [B, S] with each layout's elements in `order`, padding last."""
  boxes, labels, mask = check_layouts(boxes, labels, mask)
  perm = _permutation(boxes, labels, mask, order, seed)  # [B, S]
  return (
    np.take_along_axis(boxes, perm[..., None], axis=1),
    np.take_along_axis(labels, perm, axis=1),
    np.take_along_axis(mask, perm, axis=1),
  )


# ---------------------------------------------------------------------------------------------- sequence formats


@dataclasses.dataclass(frozen=True)
class SequenceFormat:
  """Vocabulary layout of a token-sequence format and the token order of one element.

  Attributes:
    name: the model whose format this is.
    num_classes: C; class ids are 0 .. C-1.
    num_bins: n bins per box value.
    element_tokens: the order of an element's 5 tokens, a permutation of FIELDS ("c", "x", "y", "w", "h").
    box_format: what x, y, w, h are: "ltwh" (top-left corner) or "cxcywh" (centre).
    quantization: a uniform rule (UNIFORM_RULES) or "kmeans" (centres passed to encode/decode).
    class_offset: token id of class 0.
    coord_offsets: token ids of bin 0 of x, y, w, h (all equal when the four share one block of bins).
    pad_id: token of padding.
    bos_id: begin-of-sequence token, or None.
    eos_id: end-of-sequence token, or None.
    mask_id: mask token of masked models (BLT, LayoutDM), or None.
    vocab_size: number of token ids.
    add_bos_eos: whether sequences are [bos, elements..., eos, pad...] (else [elements..., pad...]).
    min_size_bin: smallest bin of w and h that `encode` writes (BLT: 1).
  """

  name: str
  num_classes: int
  num_bins: int
  element_tokens: tuple[str, ...]
  box_format: box_ops.BoxFormat
  quantization: str
  class_offset: int
  coord_offsets: tuple[int, int, int, int]
  pad_id: int
  bos_id: int | None
  eos_id: int | None
  mask_id: int | None
  vocab_size: int
  add_bos_eos: bool
  min_size_bin: int = 0

  def __post_init__(self) -> None:
    if sorted(self.element_tokens) != sorted(FIELDS):
      raise ValueError(f"element_tokens must be a permutation of {FIELDS}, got {self.element_tokens}.")
    if self.box_format not in ("ltwh", "cxcywh"):
      raise ValueError(f"box_format must be 'ltwh' or 'cxcywh', got {self.box_format!r}.")
    if self.quantization not in QUANTIZATIONS:
      raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {self.quantization!r}.")
    if self.add_bos_eos and (self.bos_id is None or self.eos_id is None):
      raise ValueError(f"Format {self.name!r} adds bos/eos but has bos_id={self.bos_id}, eos_id={self.eos_id}.")

  def field_range(self, field: str) -> tuple[int, int]:
    """[start, stop) of the token ids of one field ("c", "x", "y", "w" or "h")."""
    if field == "c":
      return self.class_offset, self.class_offset + self.num_classes
    if field not in COORDS:
      raise ValueError(f"Unknown field {field!r}; choose one of {FIELDS}.")
    start = self.coord_offsets[COORDS.index(field)]
    return start, start + self.num_bins

  def seq_len(self, max_elements: int) -> int:
    """Shortest sequence that holds max_elements elements: 5 S, plus bos and eos if the format adds them."""
    return TOKENS_PER_ELEMENT * max_elements + (2 if self.add_bos_eos else 0)

  def max_elements(self, seq_len: int) -> int:
    """How many element slots a sequence of seq_len tokens has."""
    return (seq_len - (2 if self.add_bos_eos else 0)) // TOKENS_PER_ELEMENT


def _check_format_sizes(num_classes: int, num_bins: int) -> None:
  _check_count("num_classes", num_classes, 1)
  _check_num_bins(num_bins)


def layout_transformer_format(num_classes: int, num_bins: int = 256) -> SequenceFormat:
  """LayoutTransformer (Gupta et al. 2021): [bos, (c, x, y, w, h) of top-left boxes ..., eos, pad ...]."""
  _check_format_sizes(num_classes, num_bins)
  specials = num_bins + num_classes
  return SequenceFormat(
    name="layout_transformer",
    num_classes=num_classes,
    num_bins=num_bins,
    element_tokens=("c", "x", "y", "w", "h"),
    box_format="ltwh",
    quantization="grid_round",
    class_offset=num_bins,
    coord_offsets=(0, 0, 0, 0),
    pad_id=specials + 2,
    bos_id=specials,
    eos_id=specials + 1,
    mask_id=None,
    vocab_size=specials + 3,
    add_bos_eos=True,
  )


def blt_format(num_classes: int, num_bins: int = 32, add_bos_eos: bool = False) -> SequenceFormat:
  """BLT (Kong et al. 2022): (c, w, h, x, y) of centre boxes, padded with pad (id 0); bos/eos only if asked."""
  _check_format_sizes(num_classes, num_bins)
  first_bin = 4 + num_classes
  return SequenceFormat(
    name="blt",
    num_classes=num_classes,
    num_bins=num_bins,
    element_tokens=("c", "w", "h", "x", "y"),
    box_format="cxcywh",
    quantization="grid_round",
    class_offset=4,
    coord_offsets=tuple(first_bin + i * num_bins for i in range(4)),
    pad_id=0,
    bos_id=1,
    eos_id=2,
    mask_id=3,
    vocab_size=first_bin + 4 * num_bins,
    add_bos_eos=add_bos_eos,
    min_size_bin=1,
  )


def layoutdm_format(num_classes: int, num_bins: int = 32, quantization: str = "kmeans") -> SequenceFormat:
  """LayoutDM (Inoue et al. 2023): 5 S tokens, (c, x, y, w, h) of centre boxes, empty slots all pad."""
  _check_format_sizes(num_classes, num_bins)
  pad = num_classes + 4 * num_bins
  return SequenceFormat(
    name="layoutdm",
    num_classes=num_classes,
    num_bins=num_bins,
    element_tokens=("c", "x", "y", "w", "h"),
    box_format="cxcywh",
    quantization=quantization,
    class_offset=0,
    coord_offsets=tuple(num_classes + i * num_bins for i in range(4)),
    pad_id=pad,
    bos_id=None,
    eos_id=None,
    mask_id=pad + 1,
    vocab_size=pad + 2,
    add_bos_eos=False,
  )


def _box_centres(fmt: SequenceFormat, centres: ArrayLike | None) -> np.ndarray:
  """k-means centres [4, n] of x, y, w, h for a "kmeans" format."""
  if centres is None:
    raise ValueError(
      f"Format {fmt.name!r} quantizes with k-means bins: pass centres [4, {fmt.num_bins}] "
      "(fit_kmeans_box_bins on the training split)."
    )
  centres = np.asarray(centres)
  if centres.shape != (4, fmt.num_bins):
    raise ValueError(f"centres must have shape [4, num_bins] = [4, {fmt.num_bins}], got {centres.shape}.")
  return centres


def _quantize_boxes(fmt: SequenceFormat, boxes: np.ndarray, centres: ArrayLike | None) -> np.ndarray:
  """Bins [..., 4] of x, y, w, h (boxes in fmt.box_format)."""
  if fmt.quantization == "kmeans":
    table = _box_centres(fmt, centres)
    bins = np.stack([quantize_kmeans(boxes[..., i], table[i]) for i in range(4)], axis=-1)
  else:
    bins = quantize(boxes, fmt.num_bins, fmt.quantization)
  bins[..., 2:] = np.maximum(bins[..., 2:], fmt.min_size_bin)
  return bins


def _dequantize_boxes(fmt: SequenceFormat, bins: np.ndarray, centres: ArrayLike | None) -> np.ndarray:
  """Values [..., 4] (in fmt.box_format) of bins [..., 4] of x, y, w, h."""
  if fmt.quantization == "kmeans":
    table = _box_centres(fmt, centres)
    return np.stack([dequantize_kmeans(bins[..., i], table[i]) for i in range(4)], axis=-1)
  return dequantize(bins, fmt.num_bins, fmt.quantization)


def _field_bounds(fmt: SequenceFormat) -> tuple[np.ndarray, np.ndarray]:
  """Token ids [start, stop) [5], [5] of the values of each of the element's 5 positions."""
  starts, stops = zip(*(fmt.field_range(field) for field in fmt.element_tokens))
  return np.array(starts), np.array(stops)


def _positions(fmt: SequenceFormat) -> list[int]:
  """Index of each element position in (c, x, y, w, h) order."""
  return [FIELDS.index(field) for field in fmt.element_tokens]


def encode(
  fmt: SequenceFormat,
  boxes: ArrayLike,
  labels: ArrayLike,
  mask: ArrayLike,
  centres: ArrayLike | None = None,
  seq_len: int | None = None,
) -> np.ndarray:
  """Token sequences [B, L] int32 of a batch of layouts, in the slot order given (padding moved last).

  Args:
    fmt: the sequence format.
    boxes: [B, S, 4] normalised centre boxes; padded slots may hold anything.
    labels: [B, S] class ids in [0, C) for real elements.
    mask: [B, S] True for real elements.
    centres: [4, n] k-means centres of x, y, w, h, for a "kmeans" format.
    seq_len: pad every sequence to this length (default and minimum: fmt.seq_len(S)).

  Call `reorder` first to put elements in the paper's order (LayoutTransformer: "raster", BLT:
  "raster_centre", LayoutDM: "random" in training).
  """
  boxes, labels, mask = reorder(boxes, labels, mask, "given")
  batch, slots = labels.shape
  length = fmt.seq_len(slots) if seq_len is None else seq_len
  if length < fmt.seq_len(slots):
    raise ValueError(
      f"seq_len={seq_len} is too short for {slots} elements in format {fmt.name!r}; it needs at "
      f"least {fmt.seq_len(slots)}."
    )
  real_labels = labels[mask]
  if real_labels.size and (real_labels.min() < 0 or real_labels.max() >= fmt.num_classes):
    raise ValueError(
      f"Labels of real elements must lie in [0, num_classes={fmt.num_classes}), got values in "
      f"[{real_labels.min()}, {real_labels.max()}]."
    )
  boxes = box_ops.convert(np.where(mask[..., None], boxes, 0), "cxcywh", fmt.box_format)
  values = np.concatenate([labels[..., None], _quantize_boxes(fmt, boxes, centres)], axis=-1)  # [B, S, 5] c,x,y,w,h
  element = values[..., _positions(fmt)] + _field_bounds(fmt)[0]  # [B, S, 5] in the format's order
  element = np.where(mask[..., None], element, fmt.pad_id).reshape(batch, -1)  # [B, 5 S]
  tokens = np.full((batch, length), fmt.pad_id, np.int32)
  if fmt.add_bos_eos:
    tokens[:, 0] = fmt.bos_id
    tokens[:, 1 : 1 + element.shape[1]] = element
    eos_at = 1 + TOKENS_PER_ELEMENT * mask.sum(axis=1)  # [B]
    np.put_along_axis(tokens, eos_at[:, None], fmt.eos_id, axis=1)
  else:
    tokens[:, : element.shape[1]] = element
  return tokens


class DecodedLayouts(NamedTuple):
  """Layouts read back from token sequences."""

  boxes: np.ndarray  # [B, S, 4] float32 normalised centre boxes, 0 in padded slots
  labels: np.ndarray  # [B, S] int32, 0 in padded slots
  mask: np.ndarray  # [B, S] bool, real elements first
  malformed: np.ndarray  # [B] bool: the sequence breaks the format (see module doc)


def _element_region(fmt: SequenceFormat, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Element slots [B, S, 5], which of them are live [B, S], and structural faults [B] of token sequences [B, L]."""
  batch, length = tokens.shape
  slots = max(fmt.max_elements(length), 0)
  start = 1 if fmt.add_bos_eos else 0
  grid = tokens[:, start : start + TOKENS_PER_ELEMENT * slots].reshape(batch, slots, TOKENS_PER_ELEMENT)
  if not fmt.add_bos_eos:
    stray = np.any(tokens[:, TOKENS_PER_ELEMENT * slots :] != fmt.pad_id, axis=1)
    return grid, np.ones((batch, slots), bool), stray
  body = tokens[:, 1:]
  has_eos = np.any(body == fmt.eos_id, axis=1)
  eos_at = np.where(has_eos, np.argmax(body == fmt.eos_id, axis=1), body.shape[1])  # [B] first eos in body
  live = (np.arange(slots) + 1) * TOKENS_PER_ELEMENT <= eos_at[:, None]  # [B, S] slots wholly before the eos
  faults = (tokens[:, 0] != fmt.bos_id) | ~has_eos | (eos_at % TOKENS_PER_ELEMENT != 0)
  return grid, live, faults


def decode(fmt: SequenceFormat, tokens: ArrayLike, centres: ArrayLike | None = None) -> DecodedLayouts:
  """Layouts of token sequences [B, L]: the inverse of `encode`, with malformed sequences reported.

  Args:
    fmt: the sequence format.
    tokens: [B, L] int token ids.
    centres: [4, n] k-means centres of x, y, w, h, for a "kmeans" format.

  Returns:
    DecodedLayouts with S = fmt.max_elements(L) slots per layout; well-formed elements keep their order and
    come first.
  """
  tokens = np.asarray(tokens)
  if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer) or tokens.shape[1] < fmt.seq_len(0):
    raise ValueError(
      f"tokens must be an integer array [B, L] with L >= {fmt.seq_len(0)}, got shape "
      f"{tokens.shape} and dtype {tokens.dtype}."
    )
  grid, live, malformed = _element_region(fmt, tokens)  # [B, S, 5], [B, S], [B]
  starts, stops = _field_bounds(fmt)
  in_range = np.all((grid >= starts) & (grid < stops), axis=-1)  # [B, S]
  # Without eos, all-pad slots are empty elements; with eos, only what follows the eos is.
  empty = np.all(grid == fmt.pad_id, axis=-1) & (not fmt.add_bos_eos)
  corrupt = live & ~in_range & ~empty
  keep = live & in_range
  values = np.where(keep[..., None], grid - starts, 0)[..., np.argsort(_positions(fmt))]  # [B, S, 5] c,x,y,w,h
  boxes = box_ops.convert(_dequantize_boxes(fmt, values[..., 1:], centres), fmt.box_format, "cxcywh")
  boxes, labels, keep = reorder(
    np.where(keep[..., None], boxes, 0).astype(np.float32), values[..., 0].astype(np.int32), keep, "given"
  )
  return DecodedLayouts(boxes, labels, keep, malformed | np.any(corrupt, axis=1))


# ---------------------------------------------------------------------------------------------- batching


def pad_layouts(
  layouts: Sequence[tuple[ArrayLike, ArrayLike]], max_elements: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Batch layouts of n_i elements into padded arrays.

  Args:
    layouts: per layout (boxes [n_i, 4], labels [n_i]).
    max_elements: S, the slots per layout.

  Returns:
    boxes [B, S, 4] float32 (0 in padded slots), labels [B, S] int32 (0 there), mask [B, S] bool.
  """
  _check_count("max_elements", max_elements, 0)
  boxes = np.zeros((len(layouts), max_elements, 4), np.float32)
  labels = np.zeros((len(layouts), max_elements), np.int32)
  mask = np.zeros((len(layouts), max_elements), bool)
  for i, (layout_boxes, layout_labels) in enumerate(layouts):
    layout_boxes, layout_labels = np.asarray(layout_boxes), np.asarray(layout_labels)
    if layout_boxes.size == 0:
      layout_boxes = layout_boxes.reshape(0, 4)
    n = layout_labels.shape[0] if layout_labels.ndim == 1 else -1
    if layout_boxes.shape != (n, 4) or (n and not np.issubdtype(layout_labels.dtype, np.integer)):
      raise ValueError(
        f"Layout {i} has boxes of shape {layout_boxes.shape} and labels of shape "
        f"{layout_labels.shape} ({layout_labels.dtype}); pass boxes [n, 4] and integer labels [n]."
      )
    if n > max_elements:
      raise ValueError(
        f"Layout {i} has {n} elements, more than max_elements={max_elements}; raise max_elements "
        "or drop such layouts (as LayoutGAN++ and LayoutDM do)."
      )
    boxes[i, :n], labels[i, :n], mask[i, :n] = layout_boxes, layout_labels, True
  return boxes, labels, mask
