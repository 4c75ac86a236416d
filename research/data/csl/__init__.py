"""CSL graph classification dataset (TFDS builder `csl`, ArrayRecord files).

Importing this package registers the builder, after which
`tfds.data_source("csl", split="train_fold0", data_dir=...)` reads it.
"""

from __future__ import annotations

import os

from research.data.csl.csl import NUM_CLASSES, NUM_FOLDS, Csl, split_names
from research.data.prepare import prepare_builder

__all__ = ["Csl", "NUM_CLASSES", "NUM_FOLDS", "prepare", "split_names"]


def prepare(data_dir: str | os.PathLike[str]) -> None:
  """Builds CSL under `data_dir/csl/<version>/` unless it is already there (see `prepare_builder`)."""
  prepare_builder(Csl, data_dir, how_long="a few seconds")
