"""Shared parts of the layout dataset builders (RICO, PubLayNet): splits, records, the builder base.

Splits. const_layout and layout-dm shuffle a dataset's items with
`torch.randperm(n, generator=torch.Generator().manual_seed(0))` and cut the
permutation at fixed fractions. `torch_randperm` recomputes that permutation
without torch: torch's CPU generator is the Mersenne Twister that numpy's legacy
`RandomState(seed)` also is, and its randperm is one Fisher-Yates pass that swaps
item i with item i + (draw_i mod (n - i)). It agrees with torch 2.13 for n up
to 50,000 (checked), so the splits are exactly the official ones.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds

from research.data.prepare import ManualDirBuilder


def torch_randperm(n: int, seed: int = 0) -> np.ndarray:
  """`torch.randperm(n, generator=torch.Generator().manual_seed(seed))` on CPU, as int64 [n], without torch.

  The Fisher-Yates pass is inherently sequential, hence the loop (about 0.1 s per 100k items).
  """
  if not 0 <= n < 2**32 // 20:
    raise ValueError(f"n={n} is outside [0, {2**32 // 20}), where torch's CPU randperm uses 32-bit draws.")
  draws = np.random.RandomState(seed).randint(0, 2**32, size=max(n - 1, 0), dtype=np.uint32)
  offsets = (draws.astype(np.int64) % np.arange(n, 1, -1)).tolist()  # z_i = draw_i % (n - i)
  order = list(range(n))
  for i, z in enumerate(offsets):
    order[i], order[i + z] = order[i + z], order[i]
  return np.asarray(order, np.int64)


def split_positions(n: int, ends: Sequence[float], seed: int = 0) -> list[np.ndarray]:
  """Positions [n_s] of each split's items among n items: torch_randperm(n) cut at int(end * n) for each end."""
  cuts = [int(n * end) for end in ends]
  return np.split(torch_randperm(n, seed), cuts)


def split_records(layouts: Sequence[dict[str, Any]], ids: np.ndarray) -> Iterator[tuple[int, dict[str, Any]]]:
  """(key, record) of the layouts at positions `ids`, in that order; `layout_id` is the position."""
  for key, layout_id in enumerate(ids.tolist()):
    layout = layouts[layout_id]
    yield key, {"layout_id": np.int32(layout_id), "num_elements": np.int32(len(layout["labels"])), **layout}


class LayoutBuilder(ManualDirBuilder, skip_registration=True):
  """A layout dataset read from a manual directory, written as ArrayRecord, records in split order.

  Records: `layout_id`, the source's id (`SOURCE_ID`, e.g. "screen_id"), `file_name`, `canvas` [2] (width,
  height in pixels), `num_elements`, `labels` [n] and `boxes` [n, 4] normalised (cx, cy, w, h).
  Subclasses set SOURCE_ID, HOMEPAGE, CITATION and MANUAL_DOWNLOAD_INSTRUCTIONS; their module docstring
  is the dataset's description.
  """

  SOURCE_ID: str
  HOMEPAGE: str
  CITATION: str

  def _info(self) -> tfds.core.DatasetInfo:
    tensor = tfds.features.Tensor
    return tfds.core.DatasetInfo(
      builder=self,
      description=sys.modules[type(self).__module__].__doc__,
      features=tfds.features.FeaturesDict(
        {
          "layout_id": tfds.features.Scalar(np.int32),
          self.SOURCE_ID: tfds.features.Scalar(np.int32),
          "file_name": tfds.features.Text(),
          "canvas": tensor(shape=(2,), dtype=np.float32),
          "num_elements": tfds.features.Scalar(np.int32),
          "labels": tensor(shape=(None,), dtype=np.int32),
          "boxes": tensor(shape=(None, 4), dtype=np.float32),
        }
      ),
      disable_shuffling=True,  # record i of a split is the official split's i-th layout
      homepage=self.HOMEPAGE,
      citation=self.CITATION,
    )

  def _generate_examples(self, layouts: Sequence[dict[str, Any]], ids: np.ndarray) -> Iterator[tuple[int, dict]]:
    return split_records(layouts, ids)
