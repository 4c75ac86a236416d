"""Layout batches: conversion of diagrams, padding and order, seeded box noise, filtering by length."""

from __future__ import annotations

import ml_collections
import numpy as np
import pytest

from research import data
from research.data import layout_datasets
from research.data.synthetic_diagrams import builder
from research.data.synthetic_diagrams import generator as g
from research.errors import ConfigError


def test_a_diagram_becomes_normalised_centre_boxes_with_its_element_types():
  record = {
    "element_type": np.array([3, 7]),
    "canvas": np.array([200.0, 100.0]),
    "boxes": np.array([[20.0, 10.0, 40.0, 20.0], [100.0, 50.0, 100.0, 50.0]]),
  }
  layout = layout_datasets.layout_of(record)
  np.testing.assert_allclose(layout["boxes"], [[0.2, 0.2, 0.2, 0.2], [0.75, 0.75, 0.5, 0.5]], rtol=1e-6)
  np.testing.assert_array_equal(layout["labels"], [3, 7])


def test_batches_are_padded_and_in_raster_order():
  records = [
    {"boxes": np.array([[0.5, 0.8, 0.2, 0.2], [0.5, 0.2, 0.2, 0.2]], np.float32), "labels": np.array([1, 2])},
    {"boxes": np.array([[0.3, 0.3, 0.1, 0.1]], np.float32), "labels": np.array([4])},
  ]
  batch = layout_datasets.collate_layouts(records, max_elements=3, order="raster")
  np.testing.assert_array_equal(batch["labels"][0, :2], [2, 1])  # the upper element first
  np.testing.assert_array_equal(batch["mask"], [[True, True, False], [True, False, False]])
  np.testing.assert_array_equal(batch["perturbed"], [0.0, 0.0])


def test_box_noise_is_seeded_and_applied_to_about_half_of_the_layouts():
  record = {"boxes": np.full((4, 4), 0.5, np.float32), "labels": np.zeros(4, np.int32)}
  noisy = [
    layout_datasets.add_box_noise(record, np.random.default_rng([0, k]), probability=0.5, std=0.05) for k in range(400)
  ]
  again = layout_datasets.add_box_noise(record, np.random.default_rng([0, 7]), probability=0.5, std=0.05)
  np.testing.assert_array_equal(again["boxes"], noisy[7]["boxes"])
  flags = np.array([n["perturbed"] for n in noisy])
  assert 160 < flags.sum() < 240
  moved = np.array([np.std(n["boxes"] - 0.5) for n in noisy])
  assert np.all(moved[~flags] == 0) and 0.03 < moved[flags].mean() < 0.07


def test_the_pipeline_leaves_out_long_layouts_and_adds_noise_reproducibly(tmp_path):
  config = ml_collections.ConfigDict(
    dict(
      name="synthetic_diagrams",
      variant="tiny",
      data_dir=str(tmp_path),
      max_elements=20,
      order="raster",
      noise_probability=0.5,
      noise_std=0.05,
      batch_size=8,
      eval_batch_size=8,
      num_threads=0,
      prefetch=2,
      cache=False,
    )
  )
  pipeline = data.build_pipeline(config, seed=3, train_rows=(0, 8), eval_rows=(0, 8))
  train = pipeline.sources["train"]
  lengths = [g.generate(builder.SEED, i).element_type.shape[0] for i in range(64)]  # the train stream
  assert len(train) == sum(n <= 20 for n in lengths) < 64
  first, repeat = next(pipeline.train_batches(0)), next(pipeline.train_batches(0))
  for key in ("boxes", "labels", "mask", "perturbed"):
    np.testing.assert_array_equal(first[key], repeat[key])
  assert first["boxes"].shape == (8, 20, 4) and np.all(first["mask"].sum(1) <= 20)
  with pytest.raises(ConfigError, match="config.data.order='spiral' is not an element order"):
    data.build_pipeline(
      ml_collections.ConfigDict({**config.to_dict(), "order": "spiral"}), seed=0, train_rows=(0, 8), eval_rows=(0, 8)
    )
