"""Tests for the RICO TFDS builder (research/data/rico) on hand-written view hierarchies."""

from __future__ import annotations

import json
import os
import pathlib
import zipfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from research.data import layout_builder, rico
from research.errors import DataError

# torch.randperm(n, generator=torch.Generator().manual_seed(0)) as printed by torch 2.x on CPU.
TORCH_RANDPERM = {
  7: [4, 0, 5, 3, 2, 6, 1],
  9: [8, 0, 2, 3, 7, 1, 4, 5, 6],
  10: [4, 1, 7, 5, 3, 9, 0, 8, 6, 2],
  12: [8, 0, 5, 9, 7, 4, 2, 10, 3, 1, 11, 6],
  20: [4, 5, 13, 19, 7, 14, 3, 6, 9, 17, 11, 2, 16, 18, 10, 12, 15, 8, 1, 0],
}
TORCH_RANDPERM_1000_HEAD = [44, 37, 675, 775, 947, 209, 719, 500, 561, 264]
PORTRAIT = [0, 0, 1440, 2560]


def _node(label: str, bounds: list, *children: dict) -> dict:
  return {"componentLabel": label, "bounds": bounds, "class": "android.view.View", "children": list(children)}


def _screen(bounds: list, *children: dict) -> dict:
  return {"bounds": bounds, "class": "com.android.internal.policy.PhoneWindow$DecorView", "children": list(children)}


def _icons(count: int) -> list[dict]:
  return [_node("Icon", [9 * k, 9 * k, 9 * k + 5, 9 * k + 7]) for k in range(count)]


# The hand-worked screen: pre-order Toolbar, Image, Text (in Image), Icon (outside), Text (zero width), Card.
HAND_WORKED = _screen(
  PORTRAIT,
  _node("Toolbar", [0, 0, 1440, 200]),
  _node("Image", [100, 300, 700, 900], _node("Text", [120, 320, 680, 400]), _node("Icon", [-10, 0, 100, 100])),
  _node("Text", [50, 50, 50, 100]),
  _node("Card", [0, 2000, 1440, 2560]),
)
SCREENS = {
  "1000.json": HAND_WORKED,
  "1001.json": _screen([0, 0, 2560, 1440], _node("Text", [0, 0, 10, 10])),  # landscape: dropped
  "1002.json": _screen([0, 10, 1440, 2560], _node("Text", [0, 20, 10, 30])),  # origin not (0, 0): dropped
  "1003.json": _screen(PORTRAIT, *[_node("Text", [0, 100 * i, 10, 100 * i + 50]) for i in range(12)]),  # 12
  "1004.json": _screen(PORTRAIT, _node("Icon", [0, 0, 1441, 10]), _node("Icon", [5, 5, 6, 5])),  # none valid
  "1005.json": _screen([0, 0, 1000, 1000], _node("Drawer", [0, 0, 500, 1000])),  # square: kept
  **{f"{sid}.json": _screen(PORTRAIT, *_icons(sid % 3 + 1)) for sid in (5, 20, 300, 4000, 7, 88, 999)},  # fillers
}
# Kept screens: rico25-max25 keeps 10 (all but 1001, 1002, 1004), rico13-max9 also drops 1003 (12 elements).
KEPT = {
  "rico25-max25": sorted(set(SCREENS) - {"1001.json", "1002.json", "1004.json"}),
  "rico13-max9": sorted(set(SCREENS) - {"1001.json", "1002.json", "1003.json", "1004.json"}),
}
COUNTS = {"rico25-max25": {"train": 8, "val": 1, "test": 1}, "rico13-max9": {"train": 7, "val": 1, "test": 1}}
LABEL_SETS = {"rico25-max25": rico.RICO25_LABELS, "rico13-max9": rico.RICO13_LABELS}


def _write_extracted(manual: pathlib.Path, screens: dict[str, dict]) -> pathlib.Path:
  (manual / "semantic_annotations").mkdir(parents=True, exist_ok=True)
  for name, screen in screens.items():
    (manual / "semantic_annotations" / name).write_text(json.dumps(screen))
  return manual


def _read_all(data_dir, config: str) -> dict[str, list[dict]]:
  sources = tfds.data_source(f"rico/{config}", data_dir=os.fspath(data_dir), download=False)
  return {split: [sources[split][i] for i in range(len(sources[split]))] for split in rico.SPLITS}


def _file_name(record: dict) -> str:
  name = record["file_name"]
  return name.decode() if isinstance(name, bytes) else str(name)


@pytest.fixture(scope="module")
def manual(tmp_path_factory) -> pathlib.Path:
  return _write_extracted(tmp_path_factory.mktemp("manual"), SCREENS)


@pytest.fixture(scope="module")
def built(tmp_path_factory, manual) -> dict[str, dict[str, list[dict]]]:
  data_dir = tmp_path_factory.mktemp("tfds")
  for config in rico.CONFIGS:
    rico.prepare(data_dir, config, manual_dir=manual)
  return {config: _read_all(data_dir, config) for config in rico.CONFIGS}


def test_torch_randperm_matches_torch():
  for n, expected in TORCH_RANDPERM.items():
    assert layout_builder.torch_randperm(n).tolist() == expected
  perm = layout_builder.torch_randperm(1000)
  assert perm[:10].tolist() == TORCH_RANDPERM_1000_HEAD and sorted(perm.tolist()) == list(range(1000))
  assert layout_builder.torch_randperm(0).tolist() == [] and layout_builder.torch_randperm(1).tolist() == [0]


def test_split_positions_cut_at_85_and_90_percent():
  train, val, test = layout_builder.split_positions(20, (0.85, 0.90))
  perm = TORCH_RANDPERM[20]
  assert train.tolist() == perm[:17] and val.tolist() == perm[17:18] and test.tolist() == perm[18:]
  assert [len(s) for s in layout_builder.split_positions(10, (0.85, 0.90))] == [8, 1, 1]


def test_label_sets():
  assert len(rico.RICO25_LABELS) == len(set(rico.RICO25_LABELS)) == 25
  assert len(rico.RICO13_LABELS) == 13 and set(rico.RICO13_LABELS) <= set(rico.RICO25_LABELS)
  assert rico.RICO25_LABELS[:3] == ("Text", "Image", "Icon") and rico.RICO13_LABELS[:3] == ("Toolbar", "Image", "Text")


@pytest.mark.parametrize("config", rico.CONFIGS)
def test_counts_and_split_membership(built, config):
  records = built[config]
  assert {split: len(r) for split, r in records.items()} == COUNTS[config]
  kept, perm = KEPT[config], TORCH_RANDPERM[len(KEPT[config])]
  train_end, val_end = int(len(kept) * 0.85), int(len(kept) * 0.9)
  expected = {"train": perm[:train_end], "val": perm[train_end:val_end], "test": perm[val_end:]}
  for split, positions in expected.items():
    assert [int(r["layout_id"]) for r in records[split]] == positions
    assert [_file_name(r) for r in records[split]] == [kept[p] for p in positions]
    assert [int(r["screen_id"]) for r in records[split]] == [int(kept[p][:-5]) for p in positions]


def _by_name(records: dict[str, list[dict]]) -> dict[str, dict]:
  return {_file_name(r): r for split in records.values() for r in split}


def test_hand_worked_screen(built):
  record = _by_name(built["rico25-max25"])["1000.json"]
  labels25 = rico.RICO25_LABELS
  assert record["labels"].tolist() == [labels25.index(n) for n in ("Toolbar", "Image", "Text", "Card")] == [18, 1, 0, 7]
  np.testing.assert_array_equal(record["canvas"], [1440, 2560])
  assert record["boxes"].dtype == np.float32 and int(record["num_elements"]) == 4
  expected = [
    [0.5, 100 / 2560, 1.0, 200 / 2560],  # Toolbar [0, 0, 1440, 200]
    [400 / 1440, 600 / 2560, 600 / 1440, 600 / 2560],  # Image [100, 300, 700, 900]
    [400 / 1440, 360 / 2560, 560 / 1440, 80 / 2560],  # Text [120, 320, 680, 400]
    [0.5, 2280 / 2560, 1.0, 560 / 2560],  # Card [0, 2000, 1440, 2560]
  ]
  np.testing.assert_allclose(record["boxes"], expected, rtol=1e-6)
  record13 = _by_name(built["rico13-max9"])["1000.json"]  # Card is not a rico13 label
  assert record13["labels"].tolist() == [0, 1, 2]
  np.testing.assert_array_equal(record13["boxes"], record["boxes"][:3])


def _reference_layout(screen: dict, label_set: tuple[str, ...], max_elements: int) -> tuple[list, list] | None:
  """A plain-Python restatement of the official per-screen rule (recursive pre-order, element by element)."""
  x0, y0, width, height = screen["bounds"]
  if x0 != 0 or y0 != 0 or height < width:
    return None

  def descendants(node):
    for child in node.get("children", []):
      yield child
      yield from descendants(child)

  labels, boxes = [], []
  for node in descendants(screen):
    x1, y1, x2, y2 = node["bounds"]
    if node["componentLabel"] in label_set and 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height:
      labels.append(label_set.index(node["componentLabel"]))
      boxes.append([(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height])
  return (labels, boxes) if 0 < len(labels) <= max_elements else None


@pytest.mark.parametrize("config", rico.CONFIGS)
def test_records_match_a_plain_python_reference(built, config):
  max_elements = {"rico25-max25": 25, "rico13-max9": 9}[config]
  expected = {}
  for name, screen in SCREENS.items():
    if (layout := _reference_layout(screen, LABEL_SETS[config], max_elements)) is not None:
      expected[name] = layout
  records = _by_name(built[config])
  assert sorted(records) == sorted(expected) == KEPT[config]
  for name, (labels, boxes) in expected.items():
    assert records[name]["labels"].tolist() == labels
    np.testing.assert_allclose(records[name]["boxes"], boxes, rtol=1e-6)
    assert int(records[name]["num_elements"]) == len(labels)


def test_the_zip_gives_the_same_records(tmp_path, built):
  with zipfile.ZipFile(tmp_path / "rico_dataset_v0.1_semantic_annotations.zip", "w") as archive:
    for name, screen in SCREENS.items():
      archive.writestr(f"semantic_annotations/{name}", json.dumps(screen))
      archive.writestr(f"semantic_annotations/{name[:-5]}.png", b"not read")
  rico.prepare(tmp_path / "tfds", "rico13-max9", manual_dir=tmp_path)
  records = _read_all(tmp_path / "tfds", "rico13-max9")
  for split in rico.SPLITS:
    assert [_file_name(r) for r in records[split]] == [_file_name(r) for r in built["rico13-max9"][split]]


@pytest.mark.parametrize("where", ["given", "default"])
def test_missing_files_are_one_data_error_that_says_what_to_download_once(tmp_path, where):
  manual = tmp_path / "nowhere" if where == "given" else tmp_path / "tfds" / "downloads" / "manual"
  with pytest.raises(DataError) as error:
    rico.prepare(tmp_path / "tfds", manual_dir=manual if where == "given" else None)
  message = str(error.value)
  assert type(error.value) is DataError and f"not in the manual directory {manual};" in message
  assert str(manual / "semantic_annotations.zip") in message and message.count(rico.DOWNLOAD_URL) == 1


_MALFORMED = {
  "not_json": (b"{not json", r"9\.json is not valid JSON"),
  "not_an_object": (b"[1, 2]", r"9\.json holds a JSON list, not a view hierarchy"),
  "root_without_bounds": (json.dumps({"children": []}), r"9\.json: node root has no 'bounds'"),
  "node_without_bounds": (
    json.dumps(_screen(PORTRAIT, _node("Text", [0, 0, 5, 5], {"componentLabel": "Icon", "children": []}))),
    r"9\.json: node root\.children\[0\]\.children\[0\] has no 'bounds'",
  ),
  "bounds_of_three": (
    json.dumps(_screen(PORTRAIT, _node("Text", [1, 2, 3]))),
    r"9\.json: node root\.children\[0\] has bounds \[1, 2, 3\]; expected 4 numbers",
  ),
  "no_label": (
    json.dumps(_screen(PORTRAIT, {"bounds": [0, 0, 5, 5]})),
    r"9\.json: node root\.children\[0\] has componentLabel None",
  ),
  "children_not_a_list": (
    json.dumps({"bounds": PORTRAIT, "children": {"a": 1}}),
    r"9\.json: node root has 'children' of type dict, expected a list",
  ),
}


@pytest.mark.parametrize("content, message", _MALFORMED.values(), ids=_MALFORMED.keys())
def test_malformed_screens_name_the_file_and_the_problem(tmp_path, content, message):
  manual = _write_extracted(tmp_path / "manual", SCREENS)
  path = manual / "semantic_annotations" / "9.json"
  path.write_bytes(content if isinstance(content, bytes) else content.encode())
  with pytest.raises(DataError, match=message) as error:
    rico.prepare(tmp_path / "tfds", manual_dir=manual)
  assert str(path) in str(error.value)


def test_a_file_name_that_is_not_a_screen_id_is_refused(tmp_path):
  manual = _write_extracted(tmp_path / "manual", {"copy of 5.json": SCREENS["5.json"]})
  with pytest.raises(DataError, match=r"copy of 5\.json: a RICO screen file is named <screen id>\.json"):
    rico.prepare(tmp_path / "tfds", manual_dir=manual)


def test_a_bad_zip_is_refused(tmp_path):
  (tmp_path / "semantic_annotations.zip").write_bytes(b"not a zip")
  with pytest.raises(DataError, match=r"semantic_annotations\.zip is not a valid zip archive"):
    rico.prepare(tmp_path / "tfds", manual_dir=tmp_path)


def test_prepare_rejects_an_unknown_config(tmp_path):
  with pytest.raises(ValueError, match="config='rico25' is not a RICO config"):
    rico.prepare(tmp_path, "rico25")
