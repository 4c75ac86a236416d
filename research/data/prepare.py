"""Builds a TFDS dataset once per data directory, safely across processes."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

import ml_collections
import tensorflow_datasets as tfds
import threadpoolctl
from etils import epath


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
  """Holds an exclusive advisory lock on `path` (created if missing)."""
  with open(path, "a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(handle, fcntl.LOCK_UN)


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
  """
  data_dir = os.fspath(data_dir)
  if builder_cls(data_dir=data_dir, **builder_kwargs).is_prepared():
    return
  os.makedirs(data_dir, exist_ok=True)
  with _file_lock(os.path.join(data_dir, f".{builder_cls.name}.lock")):
    builder = builder_cls(data_dir=data_dir, **builder_kwargs)  # another process may have built it meanwhile
    if builder.is_prepared():
      return
    print(f"Building the {builder.info.full_name} dataset in {data_dir} (once, {how_long}).", flush=True)
    tfds.disable_progress_bar()
    try:
      with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        builder.download_and_prepare(file_format="array_record")
    except FileExistsError:
      # A builder outside this lock (e.g. `tfds.data_source` with download=True)
      # renamed its complete copy into place first; ours was discarded.
      if not builder_cls(data_dir=data_dir, **builder_kwargs).is_prepared():
        raise


class ManualDirBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A builder of released files from a manual directory, written as ArrayRecord by default.

  `manual_dir` overrides TFDS's `<data_dir>/downloads/manual`; subclasses set MANUAL_DOWNLOAD_INSTRUCTIONS.
  """

  def __init__(self, *, manual_dir: epath.PathLike | None = None, file_format: str | None = "array_record", **kwargs):
    super().__init__(file_format=file_format, **kwargs)
    self._manual_dir_override = manual_dir

  def manual_directory(self, dl_manager: tfds.download.DownloadManager) -> epath.Path:
    """The override, or TFDS's manual directory (an error with the download instructions if it is missing)."""
    if self._manual_dir_override is not None:
      return epath.Path(self._manual_dir_override)
    try:
      return epath.Path(dl_manager.manual_dir)
    except AssertionError as e:  # TFDS: the manual directory is missing or empty
      raise FileNotFoundError(f"{e}\n{self.MANUAL_DOWNLOAD_INSTRUCTIONS}") from None


def default_data_dir(config: ml_collections.ConfigDict) -> str:
  return config.data_dir or os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))
