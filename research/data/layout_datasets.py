"""Layout datasets as padded batches: boxes [B, S, 4], labels [B, S], mask [B, S].

Each pipeline reads one layout dataset (TFDS) and pads its layouts to
`config.max_elements` slots. Layouts with more elements are left out, as the
layout papers filter them (RICO and PubLayNet configs already hold at most
their maximum; synthetic diagrams reach 200 elements). Boxes are normalised
centre boxes (cx, cy, w, h), research.layout's convention; labels are the
dataset's class ids (for diagrams, the element type).

`config.noise_probability` > 0 adds LayoutDM's FIDNet augmentation (layout-dm
src/trainer/trainer/fid/train.py, `RandomApply([AddNoiseToBBox()], 0.5)`): with
that probability a layout's boxes get N(0, noise_std^2) noise on all four
coordinates (std 0.05, no clipping), and `perturbed` [B] records it. Elements
are then put in `config.order` (research.layout.tokenization orders; LayoutDM's
FIDNet reads "raster", its `LexicographicOrder`, applied after the noise).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import ml_collections
import numpy as np

from research.data import checks, publaynet, registry, rico, synthetic_diagrams
from research.data.pipeline import Pipeline
from research.data.prepare import default_data_dir, from_manual_dir
from research.data.sources import prepared_splits
from research.layout import boxes as boxes_lib
from research.layout import tokenization

# Dataset name -> the pipeline's roles -> the dataset's splits.
_SPLITS = {"train": "train", "validation": "val", "test": "test"}
SPLITS = {
  "synthetic_diagrams": {"train": "train", "validation": "validation", "test": "test"},
  "rico": _SPLITS,
  "publaynet": _SPLITS,
}


class FilteredSource:
  """The records of `source` with at most `max_elements` elements, in order (random access)."""

  def __init__(self, source, max_elements: int):
    self.source = source
    self.indices = np.array([i for i in range(len(source)) if source[i]["num_elements"] <= max_elements], np.int64)

  def __len__(self) -> int:
    return len(self.indices)

  def __getitem__(self, index: int) -> Mapping[str, Any]:
    return self.source[int(self.indices[index])]


def layout_of(record: Mapping[str, Any]) -> dict[str, np.ndarray]:
  """A record of any layout dataset -> {"boxes" [n, 4] normalised centre boxes, "labels" [n]}."""
  if "element_type" in record:  # a synthetic diagram: top-left boxes in canvas units
    ltrb = boxes_lib.ltwh_to_ltrb(np.asarray(record["boxes"], np.float64))
    width, height = (float(v) for v in record["canvas"])
    boxes = boxes_lib.ltrb_to_cxcywh(boxes_lib.normalize(ltrb, width, height))
    return {"boxes": boxes.astype(np.float32), "labels": np.asarray(record["element_type"], np.int32)}
  return {"boxes": np.asarray(record["boxes"], np.float32), "labels": np.asarray(record["labels"], np.int32)}


def add_box_noise(
  record: Mapping[str, Any], rng: np.random.Generator, *, probability: float, std: float
) -> dict[str, Any]:
  """With `probability`, boxes + N(0, std^2) noise; `perturbed` says whether it was added."""
  layout = layout_of(record)
  perturbed = bool(rng.random() < probability)
  if perturbed:
    layout["boxes"] = (layout["boxes"] + rng.normal(0.0, std, size=layout["boxes"].shape)).astype(np.float32)
  return {**layout, "perturbed": perturbed}


def collate_layouts(records: Sequence[Mapping[str, Any]], *, max_elements: int, order: str) -> dict[str, np.ndarray]:
  """Padded, ordered batch: boxes [B, S, 4], labels [B, S], mask [B, S], perturbed [B]."""
  layouts = [r if "perturbed" in r else {**layout_of(r), "perturbed": False} for r in records]
  boxes, labels, mask = tokenization.pad_layouts([(r["boxes"], r["labels"]) for r in layouts], max_elements)
  boxes, labels, mask = tokenization.reorder(boxes, labels, mask, order)
  return {
    "boxes": boxes.astype(np.float32),
    "labels": labels.astype(np.int32),
    "mask": mask,
    "perturbed": np.array([r["perturbed"] for r in layouts], np.float32),
  }


def check_layout_config(config: ml_collections.ConfigDict, num_batch_shards: int) -> None:
  """The element budget, order and box noise that layout_pipeline reads (any number of batch shards works)."""
  del num_batch_shards
  checks.at_least(config, "max_elements", 1)
  checks.one_of(config, "order", tokenization.ORDERS, "an element order")
  checks.between(config, "noise_probability", 0.0, 1.0)
  checks.at_least(config, "noise_std", 0.0)


def layout_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """Padded layout batches of the prepared `config.name` / `config.variant` (see the module docstring)."""
  splits = prepared_splits(f"{config.name}/{config.variant}", SPLITS[config.name], default_data_dir(config))
  sources = {role: FilteredSource(split, config.max_elements) for role, split in splits.items()}
  augment = None
  if config.noise_probability > 0:
    augment = functools.partial(add_box_noise, probability=config.noise_probability, std=config.noise_std)
  collate = functools.partial(collate_layouts, max_elements=config.max_elements, order=config.order)
  return Pipeline.from_config(
    config, sources, collate, seed=seed, train_rows=train_rows, eval_rows=eval_rows, augment=augment
  )


def prepare_synthetic_diagrams(config: ml_collections.ConfigDict) -> None:
  """Builds the synthetic_diagrams variant `config.variant` that `config` (a config.data) reads."""
  synthetic_diagrams.prepare(default_data_dir(config), config.variant)


for _name, _prepare, _variants in (
  ("synthetic_diagrams", prepare_synthetic_diagrams, synthetic_diagrams.CONFIGS),
  ("rico", from_manual_dir(rico.prepare), rico.CONFIGS),
  ("publaynet", from_manual_dir(publaynet.prepare), publaynet.CONFIGS),
):
  registry.register(
    registry.Dataset(_name, prepare=_prepare, pipeline=layout_pipeline, variants=_variants, check=check_layout_config)
  )
