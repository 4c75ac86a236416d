"""Builds a TFDS dataset once per data directory, safely across processes; the base of manual-download builders."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from typing import Any

import ml_collections
import tensorflow_datasets as tfds
import threadpoolctl
from etils import epath
from google.protobuf import json_format

from research.errors import DataError

REBUILD = "Delete {folder} and rerun the same command to rebuild it."  # the fix for a damaged prepared dataset


@contextlib.contextmanager
def _build_lock(data_dir: str, name: str) -> Iterator[None]:
  """Holds the exclusive advisory lock `data_dir/.<name>.lock`, creating `data_dir` and the lock file if missing.

  A data directory that cannot be created or written to is a DataError.
  """
  try:
    os.makedirs(data_dir, exist_ok=True)
    handle = open(os.path.join(data_dir, f".{name}.lock"), "a")
  except OSError as error:
    raise DataError(
      f"The TFDS data directory {data_dir} is not writable ({error.strerror or error}), and {name} must be built "
      "there once. Set TFDS_DATA_DIR or config.data.data_dir to a writable folder."
    ) from error
  with handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(handle, fcntl.LOCK_UN)


def _is_prepared(builder: tfds.core.DatasetBuilder) -> bool:
  """`builder.is_prepared()` without its warning on stderr when it is not (yet): whether TFDS's complete copy,
  renamed into place with its dataset_info.json, is there."""
  return (builder.data_path / tfds.core.constants.DATASET_INFO_FILENAME).exists()


def _builder(
  builder_cls: type[tfds.core.DatasetBuilder], data_dir: str, builder_kwargs: dict[str, Any]
) -> tfds.core.DatasetBuilder:
  """`builder_cls(data_dir=data_dir, **builder_kwargs)`; a prepared copy with an unreadable dataset_info.json
  (which TFDS reads here) is a DataError naming it."""
  try:
    return builder_cls(data_dir=data_dir, **builder_kwargs)
  except json_format.ParseError as error:
    folder = os.path.join(data_dir, builder_cls.name, builder_kwargs.get("config", ""), str(builder_cls.VERSION))
    info = os.path.join(folder, tfds.core.constants.DATASET_INFO_FILENAME)
    raise DataError(
      f"{info} cannot be read ({error}): the prepared dataset is damaged. " + REBUILD.format(folder=folder)
    ) from error


def prepare_builder(
  builder_cls: type[tfds.core.DatasetBuilder], data_dir: str | os.PathLike[str], *, how_long: str, **builder_kwargs
) -> None:
  """Builds `builder_cls` (with `builder_kwargs`, e.g. `config=`) under `data_dir` unless it is there.

  Idempotent and safe to call from several processes at once: builders are
  serialised by a lock file (`data_dir/.<name>.lock`, an flock, so `data_dir`
  must be on a local filesystem), and TFDS writes into a temporary directory
  that it renames into place only when complete, so readers never see a
  partial copy. Prints one line before building; `how_long` says what to
  expect, e.g. "a few seconds". BLAS runs single-threaded while building: the
  per-graph encodings are many small eigendecompositions and matrix powers,
  which multithreaded BLAS makes an order of magnitude slower on a busy machine.
  A `data_dir` that cannot be written to is a DataError, raised only if the
  dataset has to be built (a prepared one is read from a read-only folder too).
  The builders' own DataErrors (missing or malformed released files) reach the
  caller as raised: TFDS re-raises errors of `_split_generators` and
  `_generate_examples` unchanged (tests/data/test_zinc.py checks the type).
  """
  data_dir = os.fspath(data_dir)
  if _is_prepared(_builder(builder_cls, data_dir, builder_kwargs)):
    return
  with _build_lock(data_dir, builder_cls.name):
    builder = _builder(builder_cls, data_dir, builder_kwargs)  # another process may have built it meanwhile
    if _is_prepared(builder):
      return
    print(f"Building the {builder.info.full_name} dataset in {data_dir} (once, {how_long}).", flush=True)
    tfds.disable_progress_bar()
    try:
      with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        builder.download_and_prepare(file_format="array_record")
    except FileExistsError:
      # A builder outside this lock (e.g. `tfds.data_source` with download=True)
      # renamed its complete copy into place first; ours was discarded.
      if not _is_prepared(_builder(builder_cls, data_dir, builder_kwargs)):
        raise


class ManualDirBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A builder of released files from a manual directory, written as ArrayRecord by default.

  `manual_dir` overrides TFDS's `<data_dir>/downloads/manual`. Subclasses set
  MANUAL_DOWNLOAD_INSTRUCTIONS (shown by TFDS's catalog) and raise a DataError
  that names the files missing from `manual_directory()` and how to get them.
  """

  def __init__(self, *, manual_dir: epath.PathLike | None = None, file_format: str | None = "array_record", **kwargs):
    super().__init__(file_format=file_format, **kwargs)
    self._manual_dir_override = manual_dir

  def manual_directory(self) -> epath.Path:
    """The override, or TFDS's default manual directory `<data_dir>/downloads/manual`; it may not exist.

    TFDS's own `dl_manager.manual_dir` is not used: its error for a missing
    directory repeats the instructions that the builder's own error holds.
    """
    if self._manual_dir_override is not None:
      return epath.Path(self._manual_dir_override)
    return epath.Path(self.data_dir_root) / "downloads" / "manual"


def default_data_dir(config: ml_collections.ConfigDict) -> str:
  """config.data_dir (a config.data), else $TFDS_DATA_DIR, else ~/tensorflow_datasets."""
  return config.data_dir or os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))


def from_manual_dir(prepare: Callable[..., None]) -> Callable[[ml_collections.ConfigDict], None]:
  """A builder package's `prepare(data_dir, config, manual_dir=...)` as a function of a config.data that reads
  data_dir, variant and manual_dir ("" or absent: `<data_dir>/downloads/manual`)."""
  return lambda config: prepare(default_data_dir(config), config.variant, manual_dir=config.get("manual_dir") or None)
