"""Tests for the PubLayNet TFDS builder (research/data/publaynet) on hand-written COCO files."""

from __future__ import annotations

import copy
import io
import json
import os
import pathlib
import tarfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from research.data import publaynet
from research.errors import DataError

# torch.randperm(n, generator=torch.Generator().manual_seed(0)) as printed by torch 2.x on CPU.
TORCH_RANDPERM = {4: [0, 1, 3, 2], 5: [4, 0, 1, 3, 2]}
# Category ids other than PubLayNet's 1..5, listed out of order: labels must follow the names.
CATEGORIES = [
  {"id": 15, "name": "figure"},
  {"id": 11, "name": "text"},
  {"id": 12, "name": "title"},
  {"id": 13, "name": "list"},
  {"id": 14, "name": "table"},
]


def _image(image_id: int, width: int = 600, height: int = 800) -> dict:
  return {"id": image_id, "width": width, "height": height, "file_name": f"PMC{image_id}_00000.jpg"}


def _ann(ann_id: int, image_id: int, category_id: int, bbox: list) -> dict:
  return {
    "id": ann_id,
    "image_id": image_id,
    "category_id": category_id,
    "bbox": bbox,
    "iscrowd": 0,
    "area": bbox[2] * bbox[3],
    "segmentation": [],
  }


def _train_json() -> dict:
  """Images 1, 2, 5 (fillers), 7 (hand-worked), 9 (12 elements), 3 (landscape), 4 (no annotations)."""
  images = [_image(i) for i in (7, 9, 4, 1, 2, 5)] + [_image(3, 800, 600)]
  boxes = [
    (7, 11, [50, 60, 100, 40]),  # text, kept
    (1, 11, [10, 10, 20, 20]),
    (7, 12, [0, 0, 600, 50]),  # title, kept
    (7, 15, [500, 700, 150, 50]),  # figure, right edge 650 > 600: dropped
    (7, 14, [10, 10, 0, 30]),  # table, zero width: dropped
    (3, 11, [0, 0, 10, 10]),  # on a landscape page
    *[(9, 13, [0, 50 * k, 10, 20]) for k in range(12)],
    (2, 12, [5, 5, 50, 50]),
    (5, 14, [5, 5, 50, 50]),
    (7, 13, [100, 700, 200, 100]),  # list, touching the bottom-right corner: kept, after the others
  ]
  annotations = [_ann(i, image, category, bbox) for i, (image, category, bbox) in enumerate(boxes)]
  return {"images": images, "annotations": annotations, "categories": CATEGORIES}


def _val_json() -> dict:
  return {
    "images": [_image(21, 900, 700), _image(20)],
    "annotations": [_ann(0, 20, 11, [1, 2, 3, 4]), _ann(1, 21, 11, [1, 2, 3, 4])],
    "categories": CATEGORIES,
  }


KEPT = {"max25": [1, 2, 5, 7, 9], "max9": [1, 2, 5, 7]}  # train.json's kept image ids, in id order
COUNTS = {"max25": {"train": 4, "val": 1, "test": 1}, "max9": {"train": 3, "val": 1, "test": 1}}


def _write_extracted(manual: pathlib.Path, train: dict, val: dict) -> pathlib.Path:
  (manual / "publaynet").mkdir(parents=True, exist_ok=True)
  for name, coco in (("train.json", train), ("val.json", val)):
    (manual / "publaynet" / name).write_text(json.dumps(coco))
  return manual


def _read_all(data_dir, config: str) -> dict[str, list[dict]]:
  sources = tfds.data_source(f"publaynet/{config}", data_dir=os.fspath(data_dir), download=False)
  return {split: [sources[split][i] for i in range(len(sources[split]))] for split in publaynet.SPLITS}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
  manual = _write_extracted(tmp_path_factory.mktemp("manual"), _train_json(), _val_json())
  data_dir = tmp_path_factory.mktemp("tfds")
  for config in publaynet.CONFIGS:
    publaynet.prepare(data_dir, config, manual_dir=manual)
  return {config: _read_all(data_dir, config) for config in publaynet.CONFIGS}


@pytest.mark.parametrize("config", publaynet.CONFIGS)
def test_counts_and_split_membership(built, config):
  records = built[config]
  assert {split: len(r) for split, r in records.items()} == COUNTS[config]
  kept = KEPT[config]
  perm, end = TORCH_RANDPERM[len(kept)], int(len(kept) * 0.95)
  assert [int(r["layout_id"]) for r in records["train"]] == perm[:end]
  assert [int(r["image_id"]) for r in records["train"]] == [kept[p] for p in perm[:end]]
  assert [int(r["image_id"]) for r in records["val"]] == [kept[p] for p in perm[end:]]
  assert [int(r["image_id"]) for r in records["test"]] == [20] and int(records["test"][0]["layout_id"]) == 0


def _record(records: dict[str, list[dict]], image_id: int) -> dict:
  return next(r for split in ("train", "val") for r in records[split] if int(r["image_id"]) == image_id)


def test_hand_worked_page(built):
  record = _record(built["max25"], 7)
  assert publaynet.LABELS == ("text", "title", "list", "table", "figure")
  assert record["labels"].tolist() == [0, 1, 2]  # text, title, list: by name, in file order
  assert int(record["num_elements"]) == 3 and record["boxes"].dtype == np.float32
  np.testing.assert_array_equal(record["canvas"], [600, 800])
  name = record["file_name"]
  assert (name.decode() if isinstance(name, bytes) else name) == "PMC7_00000.jpg"
  expected = [
    [100 / 600, 80 / 800, 100 / 600, 40 / 800],  # text [50, 60, 100, 40]
    [0.5, 25 / 800, 1.0, 50 / 800],  # title [0, 0, 600, 50]
    [200 / 600, 750 / 800, 200 / 600, 100 / 800],  # list [100, 700, 200, 100]
  ]
  np.testing.assert_allclose(record["boxes"], expected, rtol=1e-6)


def _reference(coco: dict, max_elements: int) -> dict[int, tuple[list, list]]:
  """A plain-Python restatement of the official per-image rule: image id -> (labels, boxes)."""
  names = {c["id"]: c["name"] for c in coco["categories"]}
  layouts = {}
  for image in sorted(coco["images"], key=lambda im: im["id"]):
    width, height = image["width"], image["height"]
    if height < width:
      continue
    labels, boxes = [], []
    for ann in coco["annotations"]:
      x, y, w, h = ann["bbox"]
      if ann["image_id"] == image["id"] and 0 <= x and 0 <= y and x + w <= width and y + h <= height and w > 0 < h:
        labels.append(publaynet.LABELS.index(names[ann["category_id"]]))
        boxes.append([(x + w / 2) / width, (y + h / 2) / height, w / width, h / height])
    if 0 < len(labels) <= max_elements:
      layouts[image["id"]] = (labels, boxes)
  return layouts


@pytest.mark.parametrize("config, max_elements", [("max25", 25), ("max9", 9)])
def test_records_match_a_plain_python_reference(built, config, max_elements):
  expected = _reference(_train_json(), max_elements)
  assert sorted(expected) == KEPT[config]
  for image_id, (labels, boxes) in expected.items():
    record = _record(built[config], image_id)
    assert record["labels"].tolist() == labels
    np.testing.assert_allclose(record["boxes"], boxes, rtol=1e-6)
  assert len(_record(built["max25"], 9)["labels"]) == 12  # too many for max9


def test_the_tar_gz_gives_the_same_records(tmp_path, built):
  with tarfile.open(tmp_path / "labels.tar.gz", "w:gz") as archive:
    for name, coco in (("README.txt", "PubLayNet"), ("train.json", _train_json()), ("val.json", _val_json())):
      data = (coco if isinstance(coco, str) else json.dumps(coco)).encode()
      info = tarfile.TarInfo(f"publaynet/{name}")
      info.size = len(data)
      archive.addfile(info, io.BytesIO(data))
  publaynet.prepare(tmp_path / "tfds", "max9", manual_dir=tmp_path)
  records = _read_all(tmp_path / "tfds", "max9")
  for split in publaynet.SPLITS:
    assert [int(r["image_id"]) for r in records[split]] == [int(r["image_id"]) for r in built["max9"][split]]
    for new, old in zip(records[split], built["max9"][split], strict=True):
      np.testing.assert_array_equal(new["boxes"], old["boxes"])


@pytest.mark.parametrize("where", ["given", "default"])
def test_missing_files_are_one_data_error_that_says_what_to_download_once(tmp_path, where):
  manual = tmp_path / "nowhere" if where == "given" else tmp_path / "tfds" / "downloads" / "manual"
  with pytest.raises(DataError, match="train.json, val.json") as error:
    publaynet.prepare(tmp_path / "tfds", manual_dir=manual if where == "given" else None)
  message = str(error.value)
  assert type(error.value) is DataError and f"the manual directory {manual};" in message
  assert str(manual / "publaynet" / "val.json") in message and message.count(publaynet.DOWNLOAD_URL) == 1


def test_one_missing_file_is_named(tmp_path):
  manual = _write_extracted(tmp_path / "manual", _train_json(), _val_json())
  (manual / "publaynet" / "val.json").unlink()
  with pytest.raises(DataError, match=r"PubLayNet needs val\.json, not found"):
    publaynet.prepare(tmp_path / "tfds", manual_dir=manual)


def _changed(change) -> dict:
  coco = copy.deepcopy(_train_json())
  change(coco)
  return coco


_MALFORMED = {
  "not_json": (b'{"images": [', r"train\.json is not valid JSON"),
  "no_categories": (_changed(lambda c: c.pop("categories")), r"train\.json: the COCO key 'categories' is missing"),
  "unknown_image": (
    _changed(lambda c: c["annotations"][2].update(image_id=99)),
    r"train\.json: annotation 2 has image_id 99, which no image has",
  ),
  "unknown_category": (
    _changed(lambda c: c["annotations"][1].update(category_id=3)),
    r"train\.json: annotation 1 has category_id 3, which is not in 'categories'",
  ),
  "no_bbox": (_changed(lambda c: c["annotations"][4].pop("bbox")), r"train\.json: annotation 4 has no 'bbox'"),
  "short_bbox": (
    _changed(lambda c: c["annotations"][0].update(bbox=[1, 2, 3])),
    r"train\.json: annotation 0 has bbox=\[1, 2, 3\]; expected 4 numbers",
  ),
  "unknown_name": (
    _changed(lambda c: c["categories"].append({"id": 16, "name": "caption"})),
    r"train\.json: category name 'caption' is not one of PubLayNet's",
  ),
  "duplicate_image": (
    _changed(lambda c: c["images"].append(_image(7))),
    r"train\.json: image id 7 occurs more than once",
  ),
  "no_width": (_changed(lambda c: c["images"][3].pop("width")), r"train\.json: image 3 has no 'width'"),
}


@pytest.mark.parametrize("content, message", _MALFORMED.values(), ids=_MALFORMED.keys())
def test_malformed_files_name_the_file_and_the_problem(tmp_path, content, message):
  manual = _write_extracted(tmp_path / "manual", _train_json(), _val_json())
  path = manual / "publaynet" / "train.json"
  path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
  with pytest.raises(DataError, match=message) as error:
    publaynet.prepare(tmp_path / "tfds", manual_dir=manual)
  assert str(path) in str(error.value)


def test_a_bad_archive_is_refused(tmp_path):
  (tmp_path / "labels.tar.gz").write_bytes(b"not a tar archive")
  with pytest.raises(DataError, match=r"labels\.tar\.gz is not a readable tar archive"):
    publaynet.prepare(tmp_path / "tfds", manual_dir=tmp_path)


def test_prepare_rejects_an_unknown_config(tmp_path):
  with pytest.raises(ValueError, match="config='max20' is not a PubLayNet config"):
    publaynet.prepare(tmp_path, "max20")
