"""Random access to the splits of prepared TFDS datasets, where a damaged file is a DataError.

`tfds.data_source` opens an ArrayRecord file only when a record is first read,
so a truncated or bit-flipped file fails at that read (at pipeline build with
config.data.cache, else in the reader threads, possibly mid-training) with
array_record's `Corrupted Riegeli/records file: ...`, which names no file.
`PreparedSplit` turns that into a DataError naming the file, the record, and
the folder to delete so that rerunning the same command rebuilds it.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Mapping
from typing import Any

import tensorflow_datasets as tfds

from research.data.prepare import REBUILD
from research.errors import DataError


class PreparedSplit:
  """Split `split` of the prepared dataset `name` (e.g. "zinc/subset") in `data_dir`, read by index."""

  def __init__(self, name: str, split: str, data_dir: str | os.PathLike[str]):
    self.source = tfds.data_source(name, split=split, data_dir=os.fspath(data_dir), download=False)
    self.name = name
    self.split = split
    files = self.source.dataset_info.splits[split].file_instructions
    self._files = [f.filename for f in files]
    self._ends = list(itertools.accumulate(f.take for f in files))  # records [end_{i-1}, end_i) are in file i

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> Mapping[str, Any]:
    try:
      return self.source[index]
    except RuntimeError as error:  # array_record's error for a file it cannot read
      raise DataError(self._damaged_message(index, error)) from error

  def file_of(self, index: int) -> str:
    """The ArrayRecord file that holds record `index`."""
    return self._files[min(bisect.bisect_right(self._ends, index), len(self._files) - 1)]

  def _damaged_message(self, index: int, error: RuntimeError) -> str:
    folder = self.source.dataset_info.data_dir
    return (
      f"{self.file_of(index)} cannot be read ({error}): record {index} of the {self.split!r} split of the prepared "
      f"dataset {self.name} is damaged. " + REBUILD.format(folder=folder)
    )


def prepared_splits(name: str, splits: Mapping[str, str], data_dir: str | os.PathLike[str]) -> dict[str, PreparedSplit]:
  """{role: PreparedSplit of `name`'s split} for each `role: split` of `splits`."""
  return {role: PreparedSplit(name, split, data_dir) for role, split in splits.items()}
