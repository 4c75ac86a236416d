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
import tensorflow_datasets as tfds

from research.data import register_pipeline
from research.data.pipeline import Pipeline
from research.data.prepare import default_data_dir
from research.layout import boxes as boxes_lib
from research.layout import tokenization

# Dataset name -> (TFDS builder name, split roles).
_SPLITS = {"train": "train", "validation": "val", "test": "test"}
DATASETS = {
    "synthetic_diagrams": ("synthetic_diagrams", {"train": "train", "validation": "validation", "test": "test"}),
    "rico": ("rico", _SPLITS),
    "publaynet": ("publaynet", _SPLITS),
}
NAMES = tuple(DATASETS)


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


def add_box_noise(record: Mapping[str, Any], rng: np.random.Generator, *, probability: float,
                  std: float) -> dict[str, Any]:
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
  return {"boxes": boxes.astype(np.float32), "labels": labels.astype(np.int32), "mask": mask,
          "perturbed": np.array([r["perturbed"] for r in layouts], np.float32)}


def prepare_dataset(config: ml_collections.ConfigDict) -> None:
  """Builds the layout dataset `config` (a config.data) names, once."""
  data_dir = default_data_dir(config)
  if config.name == "synthetic_diagrams":
    from research.data import synthetic_diagrams

    synthetic_diagrams.prepare(data_dir, config.variant)
  elif config.name == "rico":
    from research.data import rico

    rico.prepare(data_dir, config.variant, manual_dir=config.get("manual_dir") or None)
  elif config.name == "publaynet":
    from research.data import publaynet

    publaynet.prepare(data_dir, config.variant, manual_dir=config.get("manual_dir") or None)
  else:
    raise ValueError(f"No layout dataset named config.data.name={config.name!r}; known: {', '.join(NAMES)}.")


def layout_pipeline(config: ml_collections.ConfigDict, *, seed: int, train_rows, eval_rows) -> Pipeline:
  """Padded layout batches of `config.name` / `config.variant` (see the module docstring)."""
  if config.order not in tokenization.ORDERS:
    raise ValueError(f"config.data.order={config.order!r}; choose one of {tokenization.ORDERS}.")
  if not 0.0 <= config.noise_probability <= 1.0:
    raise ValueError(f"config.data.noise_probability={config.noise_probability} must lie in [0, 1].")
  prepare_dataset(config)
  builder, roles = DATASETS[config.name]
  data_dir = default_data_dir(config)
  sources = {
      role: FilteredSource(tfds.data_source(f"{builder}/{config.variant}", split=split, data_dir=data_dir),
                           config.max_elements)
      for role, split in roles.items()
  }
  augment = None
  if config.noise_probability > 0:
    augment = functools.partial(add_box_noise, probability=config.noise_probability, std=config.noise_std)
  collate = functools.partial(collate_layouts, max_elements=config.max_elements, order=config.order)
  return Pipeline.from_config(config, sources, collate, seed=seed, train_rows=train_rows, eval_rows=eval_rows,
                              augment=augment)


for _name in NAMES:
  register_pipeline(_name)(layout_pipeline)
