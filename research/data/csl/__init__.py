"""CSL graph classification dataset (TFDS builder `csl`, ArrayRecord files).

Importing this package registers the builder, after which
`tfds.data_source("csl", split="train_fold0", data_dir=...)` reads it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

import tensorflow_datasets as tfds

from research.data.csl.csl import Csl, NUM_CLASSES, NUM_FOLDS, split_names

__all__ = ["Csl", "NUM_CLASSES", "NUM_FOLDS", "prepare", "split_names"]


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
  """Holds an exclusive advisory lock on `path` (created if missing)."""
  with open(path, "a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(handle, fcntl.LOCK_UN)


def prepare(data_dir: str | os.PathLike[str]) -> None:
  """Builds CSL under `data_dir` unless it is already there.

  Idempotent and safe to call from several processes at once: builders are
  serialised by a lock file (`data_dir/.csl.lock`, an flock, so `data_dir` must
  be on a local filesystem), and TFDS writes into a temporary directory that it
  renames into place only when complete, so readers never see a partial copy.

  Args:
    data_dir: TFDS data directory (a local path); the dataset lands in
      `data_dir/csl/<version>/`.
  """
  data_dir = os.fspath(data_dir)
  if Csl(data_dir=data_dir).is_prepared():
    return
  os.makedirs(data_dir, exist_ok=True)
  with _file_lock(os.path.join(data_dir, ".csl.lock")):
    builder = Csl(data_dir=data_dir)  # re-check: another process may have built it meanwhile
    if builder.is_prepared():
      return
    print(f"Building the CSL dataset in {data_dir} (once, a few seconds).", flush=True)
    tfds.disable_progress_bar()
    try:
      builder.download_and_prepare(file_format="array_record")
    except FileExistsError:
      # A builder outside this lock (e.g. `tfds.data_source` with download=True)
      # renamed its complete copy into place first; ours was discarded.
      if not Csl(data_dir=data_dir).is_prepared():
        raise
