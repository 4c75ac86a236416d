"""The input pipeline: per-epoch permutations, per-process rows, padded evaluation batches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from research.data.pipeline import Pipeline
from research.errors import ConfigError


def _collate(records):
  return {"x": np.array([r["x"] for r in records])}


def _pipeline(rows=(0, 4), eval_rows=(0, 4), n=10, seed=0) -> Pipeline:
  sources = {"train": [{"x": i} for i in range(n)], "test": [{"x": 100 + i} for i in range(n)]}
  return Pipeline(
    sources, _collate, batch_size=4, eval_batch_size=4, train_rows=rows, eval_rows=eval_rows, seed=seed, num_threads=0
  )


def test_every_epoch_visits_every_record_once():
  p = _pipeline()
  stream = np.concatenate([p.train_indices(k) for k in range(10)])  # 40 records = 4 epochs of 10
  for epoch in range(4):
    assert sorted(stream[epoch * 10 : (epoch + 1) * 10]) == list(range(10))
  assert not np.array_equal(stream[:10], stream[10:20]), "each epoch has its own order"


def test_batches_depend_only_on_seed_and_step():
  a = [b["x"].tolist() for b in itertools.islice(_pipeline().train_batches(0), 6)]
  resumed = [b["x"].tolist() for b in itertools.islice(_pipeline().train_batches(3), 3)]
  assert a[3:] == resumed
  other_seed = [b["x"].tolist() for b in itertools.islice(_pipeline(seed=1).train_batches(0), 6)]
  assert a != other_seed


def test_processes_read_disjoint_rows_of_the_same_global_batch():
  whole = [b["x"].tolist() for b in itertools.islice(_pipeline(rows=(0, 4)).train_batches(0), 5)]
  first = [b["x"].tolist() for b in itertools.islice(_pipeline(rows=(0, 2)).train_batches(0), 5)]
  second = [b["x"].tolist() for b in itertools.islice(_pipeline(rows=(2, 4)).train_batches(0), 5)]
  assert [f + s for f, s in zip(first, second)] == whole


def test_eval_covers_the_split_once_and_masks_padding():
  batches = list(_pipeline().eval_batches("test"))
  assert len(batches) == 3  # 10 examples in batches of 4
  values = np.concatenate([b["x"][b["example_mask"]] for b in batches])
  assert values.tolist() == [100 + i for i in range(10)]
  assert batches[-1]["example_mask"].tolist() == [True, True, False, False]


def test_a_batch_larger_than_the_training_set_names_the_key_and_the_limit():
  with pytest.raises(
    ConfigError,
    match=r"config.data.batch_size=4 is larger than the training set, which has 3 "
    r"examples; use a batch size of at most 3\.",
  ):
    _pipeline(n=3)
