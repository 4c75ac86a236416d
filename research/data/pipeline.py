"""grain input pipelines over random-access sources (`tfds.data_source`).

Batch k of training is a pure function of (seed, k): the record order is a
per-epoch permutation of the training set (numpy, seeded by (seed, epoch)),
global batches are consecutive runs of it, and each process reads only its rows
of each global batch. So resuming at
step k needs nothing but k, and N processes × M devices see exactly the batches
of one process × N·M devices. An optional `augment(record, rng)` transforms each
record before collation with its own Generator, seeded by (seed, split, batch,
row of the global batch), so augmentations are as reproducible as the order.
"""

from __future__ import annotations

import functools
import math
import sys
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import grain
import numpy as np

from research.errors import ConfigError

Batch = dict[str, np.ndarray]
Collate = Callable[[Sequence[Mapping[str, Any]]], Batch]
Augment = Callable[[Mapping[str, Any], np.random.Generator], Mapping[str, Any]]


class RandomAccessSource(Protocol):
  def __len__(self) -> int: ...
  def __getitem__(self, index: int) -> Mapping[str, Any]: ...


def _decoded(source: RandomAccessSource) -> list[Mapping[str, Any]]:
  """Every record of `source`, decoded once (for datasets that fit in memory)."""
  return [source[i] for i in range(len(source))]


class Pipeline:
  """Training and evaluation batches of one dataset, for this process's rows."""

  def __init__(
    self,
    sources: Mapping[str, RandomAccessSource],
    collate: Collate,
    *,
    eval_collate: Collate | None = None,
    batch_size: int,
    eval_batch_size: int,
    train_rows: tuple[int, int],
    eval_rows: tuple[int, int],
    seed: int,
    num_threads: int = 2,
    prefetch: int = 4,
    cache: bool = False,
    augment: Augment | None = None,
  ):
    if "train" not in sources:
      raise ValueError(f"A pipeline needs a 'train' source; got {sorted(sources)}.")
    if len(sources["train"]) < batch_size:
      raise ConfigError(
        f"config.data.batch_size={batch_size} is larger than the training set, which has "
        f"{len(sources['train'])} examples; use a batch size of at most {len(sources['train'])}."
      )
    self.sources = {k: _decoded(v) for k, v in sources.items()} if cache else dict(sources)
    self.collate = collate
    self.eval_collate = eval_collate or collate
    self.augment = augment
    self.batch_size = batch_size
    self.eval_batch_size = eval_batch_size
    self.train_rows = train_rows
    self.eval_rows = eval_rows
    self.seed = seed
    self._permutations: dict[int, np.ndarray] = {}
    self.num_threads = num_threads
    self.read_options = grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=prefetch)

  @classmethod
  def from_config(
    cls,
    config,
    sources: Mapping[str, RandomAccessSource],
    collate: Collate,
    *,
    seed: int,
    train_rows: tuple[int, int],
    eval_rows: tuple[int, int],
    **kwargs: Any,
  ) -> Pipeline:
    """A pipeline with the batch sizes and reader settings of a config.data (`kwargs`: the other arguments)."""
    return cls(
      sources,
      collate,
      batch_size=config.batch_size,
      eval_batch_size=config.eval_batch_size,
      train_rows=train_rows,
      eval_rows=eval_rows,
      seed=seed,
      num_threads=config.num_threads,
      prefetch=config.prefetch,
      cache=config.cache,
      **kwargs,
    )

  @property
  def num_train_examples(self) -> int:
    return len(self.sources["train"])

  @property
  def steps_per_epoch(self) -> int:
    return self.num_train_examples // self.batch_size

  def _read(
    self, split: str, indices: np.ndarray, valid: np.ndarray, collate: Collate, batch: int, rows: range
  ) -> Batch:
    """Records `indices` (rows `rows` of global batch `batch` of `split`), augmented, collated."""
    source = self.sources[split]
    records = [source[int(i)] for i in indices]
    if self.augment is not None:
      stream = zlib.crc32(split.encode())
      records = [
        self.augment(r, np.random.default_rng([self.seed, stream, batch, row])) for r, row in zip(records, rows)
      ]
    out = collate(records)
    out["example_mask"] = valid
    return out

  def _permutation(self, epoch: int) -> np.ndarray:
    """The training set's record order in `epoch` (the last two are cached)."""
    if epoch not in self._permutations:
      self._permutations = {e: p for e, p in self._permutations.items() if e == epoch - 1}
      self._permutations[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.num_train_examples)
    return self._permutations[epoch]

  def train_indices(self, step: int) -> np.ndarray:
    """Record indices of global batch `step`: the next `batch_size` records of the
    concatenated per-epoch permutations (a batch may straddle two epochs)."""
    positions = np.arange(step * self.batch_size, (step + 1) * self.batch_size)
    epochs, offsets = np.divmod(positions, self.num_train_examples)
    return np.array([self._permutation(e)[o] for e, o in zip(epochs, offsets)])

  def train_batches(self, start_step: int = 0) -> Iterator[Batch]:
    """This process's rows of global batches start_step, start_step + 1, ... (endless)."""
    lo, hi = self.train_rows
    steps = grain.MapDataset.range(start_step, sys.maxsize)
    local = steps.map(
      lambda k: self._read(
        "train", self.train_indices(k)[lo:hi], np.ones(hi - lo, bool), self.collate, k, range(lo, hi)
      )
    )
    return self._iterate(local)

  def _iterate(self, dataset: grain.MapDataset) -> Iterator[Batch]:
    """grain's reader threads, or (num_threads=0) plain reads in order: cheaper for
    cached records, where grain's per-element overhead would dominate."""
    if self.num_threads:
      return iter(dataset.to_iter_dataset(self.read_options))
    return (dataset[k] for k in range(len(dataset)))

  def _split_size(self, split: str) -> int:
    if split not in self.sources:
      raise ValueError(f"No {split!r} split in this dataset; available: {sorted(self.sources)}.")
    return len(self.sources[split])

  def eval_batch(self, split: str, k: int) -> Batch:
    """Batch `k` of the evaluation pass over `split` (this process's rows; rows past the end are masked out)."""
    n = self._split_size(split)
    lo, hi = self.eval_rows
    rows = np.arange(k * self.eval_batch_size, (k + 1) * self.eval_batch_size)[lo:hi]
    return self._read(split, np.where(rows < n, rows, 0), rows < n, self.eval_collate, k, range(lo, hi))

  def eval_batches(self, split: str) -> Iterator[Batch]:
    """One pass over `split` in order; the last global batch is padded and masked out."""
    num_batches = math.ceil(self._split_size(split) / self.eval_batch_size)
    return self._iterate(grain.MapDataset.range(num_batches).map(functools.partial(self.eval_batch, split)))
