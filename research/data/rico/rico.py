"""RICO mobile-UI layouts (semantic annotations), read from the released zip, as LayoutGAN++ and LayoutDM do.

Data. RICO v0.1's `semantic_annotations.zip` holds `semantic_annotations/<screen id>.json`, one view
hierarchy per screen: nested nodes with `bounds` [x1, y1, x2, y2] in screen pixels, `componentLabel` (one of
25 UI classes) and `children`. The root is the screen; its bounds give the canvas.

Preprocessing (LayoutGAN++: Kikuchi et al., ACM MM'21, const_layout `data/rico.py`; LayoutDM: Inoue et al.,
CVPR'23, layout-dm `src/trainer/trainer/datasets/rico.py`; the two differ only in the label set and the
maximum element count):

1. Screens in file-name order (string order: "10.json" < "2.json").
2. A screen is dropped unless its root bounds start at (0, 0) and it is portrait: canvas W = x2, H = y2 of
   the root, kept iff H >= W.
3. Elements are all descendants of the root (not the root itself) in depth-first pre-order (a node, then its
   children's subtrees in order). An element is kept iff its label is in the config's label set and its box
   lies inside the canvas with positive area: 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
   (`research.layout.boxes.valid_boxes`).
4. A screen is dropped if 0 or more than `max_elements` elements remain.
5. Boxes become normalised centre boxes: (cx, cy, w, h) = ((x1 + x2) / 2W, (y1 + y2) / 2H, (x2 - x1) / W,
   (y2 - y1) / H).
6. Splits: the kept screens are shuffled by `torch.randperm(N, generator=torch.Generator().manual_seed(0))`
   and cut 85 / 5 / 10: train = [0, int(0.85 N)), val = [int(0.85 N), int(0.9 N)), test = the rest.
   `research.data.layout_builder.torch_randperm` recomputes that permutation without torch (the same
   permutation, not an approximation; see that module).

Configs. "rico25-max25": LayoutDM's 25 labels, at most 25 elements (its test split has 4,218 layouts);
"rico13-max9": LayoutGAN++'s 13 labels, at most 9 elements (17,515 / 1,030 / 2,061 layouts).

Records. Record i of a split is the i-th layout of the official split, with

  layout_id     int32, the screen's position among the config's kept screens in file-name order (before
                the shuffle); unique across the splits of a config
  screen_id     int32, the RICO screen id (the file name's stem)
  file_name     text, e.g. "12345.json"
  canvas        float32 [2], the screen's (W, H) in pixels
  num_elements  int32, n
  labels        int32 [n], indices into the config's label tuple
  boxes         float32 [n, 4], normalised (cx, cy, w, h), in source order (models reorder)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from research.data.layout_builder import LayoutBuilder, split_positions
from research.errors import DataError
from research.layout import boxes as boxes_lib

DOWNLOAD_URL = "https://storage.googleapis.com/crowdstf-rico-uiuc-4540/rico_dataset_v0.1/semantic_annotations.zip"
ZIP_NAMES = ("semantic_annotations.zip", "rico_dataset_v0.1_semantic_annotations.zip")  # released, LayoutDM's
FOLDER = "semantic_annotations"
SPLITS = ("train", "val", "test")
SPLIT_ENDS = (0.85, 0.90)  # train ends at int(0.85 N), val at int(0.9 N)
CONFIGS = ("rico25-max25", "rico13-max9")

# LayoutDM's rico25 (layout-dm datasets/rico.py `_rico25_labels`), in its index order.
RICO25_LABELS = (
    "Text", "Image", "Icon", "Text Button", "List Item", "Input", "Background Image", "Card", "Web View",
    "Radio Button", "Drawer", "Checkbox", "Advertisement", "Modal", "Pager Indicator", "Slider", "On/Off Switch",
    "Button Bar", "Toolbar", "Number Stepper", "Multi-Tab", "Date Picker", "Map View", "Video", "Bottom Navigation",
)  # fmt: skip
# LayoutGAN++'s 13 labels (const_layout data/rico.py, layout-dm `_rico13_labels`), in its index order.
RICO13_LABELS = (
    "Toolbar", "Image", "Text", "Icon", "Text Button", "Input", "List Item", "Advertisement", "Pager Indicator",
    "Web View", "Background Image", "Drawer", "Modal",
)  # fmt: skip

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Download RICO's semantic annotations (about 150 MB):
  curl -L -o semantic_annotations.zip '{DOWNLOAD_URL}'
and put semantic_annotations.zip in the manual directory (`<data_dir>/downloads/manual/` unless you pass
another). LayoutDM's name for it, {ZIP_NAMES[1]}, works too, and so does the extracted folder
`<manual_dir>/{FOLDER}/<screen id>.json`.
"""

_CITATION = """\
@inproceedings{deka2017rico,
  title={Rico: A Mobile App Dataset for Building Data-Driven Design Applications},
  author={Deka, Biplab and Huang, Zifeng and Franzen, Chad and Hibschman, Joshua and Afergan, Daniel and
          Li, Yang and Nichols, Jeffrey and Kumar, Ranjitha},
  booktitle={UIST},
  year={2017}
}
"""


class ManualFiles:
  """The screens' JSON files, extracted under `<manual_dir>/semantic_annotations/` or inside a released zip."""

  def __init__(self, manual_dir: epath.PathLike):
    self.manual_dir = epath.Path(manual_dir)
    self.folder = self.manual_dir / FOLDER
    self.zip_path = next((p for p in (self.manual_dir / n for n in ZIP_NAMES) if p.is_file()), None)

  def expected_paths(self) -> list[str]:
    return [os.fspath(self.manual_dir / name) for name in ZIP_NAMES] + [os.path.join(self.folder, "<id>.json")]

  def exists(self) -> bool:
    return self.zip_path is not None or (self.folder.is_dir() and any(self.folder.glob("*.json")))

  def screens(self) -> Iterator[tuple[str, str, bytes]]:
    """(file name, location for messages, content) of every screen, in file-name order."""
    if self.folder.is_dir() and any(self.folder.glob("*.json")):
      for path in sorted(self.folder.glob("*.json"), key=lambda p: p.name):
        yield path.name, os.fspath(path), path.read_bytes()
      return
    with self._zip() as archive:
      members = [n for n in archive.namelist() if n.endswith(".json") and not n.startswith("__MACOSX/")]
      for member in sorted(members, key=os.path.basename):
        yield os.path.basename(member), f"{self.zip_path}:{member}", archive.read(member)

  @contextlib.contextmanager
  def _zip(self) -> Iterator[zipfile.ZipFile]:
    try:
      with self.zip_path.open("rb") as f, zipfile.ZipFile(f) as archive:
        yield archive
    except zipfile.BadZipFile as e:
      raise DataError(f"{self.zip_path} is not a valid zip archive ({e}); re-download it from {DOWNLOAD_URL}.") from e


def missing_files_message(files: ManualFiles) -> str:
  """What to download, and where to put it, when no screens are in the manual directory."""
  expected = ",\n".join(f"  {path}" for path in files.expected_paths())
  return (
    f"RICO's semantic annotations are not in the manual directory {files.manual_dir}; expected one of:\n"
    f"{expected}.\nDownload them with:\n"
    f"  mkdir -p {files.manual_dir} && curl -L -o {files.manual_dir / ZIP_NAMES[0]} '{DOWNLOAD_URL}'"
  )


def parse_screen(content: bytes, where: str) -> dict[str, Any]:
  """The root node of a screen's JSON; `where` names the file in errors."""
  try:
    root = json.loads(content)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise DataError(f"{where} is not valid JSON ({e}); re-download {DOWNLOAD_URL}.") from None
  if not isinstance(root, dict):
    raise DataError(f"{where} holds a JSON {type(root).__name__}, not a view hierarchy object.")
  return root


def _node_bounds(node: Any, where: str, path: str) -> list[float]:
  """A node's `bounds` [x1, y1, x2, y2], checked."""
  if not isinstance(node, dict):
    raise DataError(f"{where}: node {path} is a JSON {type(node).__name__}, not an object.")
  bounds = node.get("bounds")
  if bounds is None:
    raise DataError(f"{where}: node {path} has no 'bounds'; every node needs [x1, y1, x2, y2].")
  if not (isinstance(bounds, list) and len(bounds) == 4 and all(_is_number(v) for v in bounds)):
    raise DataError(f"{where}: node {path} has bounds {bounds!r}; expected 4 numbers [x1, y1, x2, y2].")
  return bounds


def _is_number(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _children(node: dict[str, Any], where: str, path: str) -> list[Any]:
  children = node.get("children", [])
  if not isinstance(children, list):
    raise DataError(f"{where}: node {path} has 'children' of type {type(children).__name__}, expected a list.")
  return children


def flatten_hierarchy(root: dict[str, Any], where: str) -> tuple[np.ndarray, list[str]]:
  """The root's descendants in depth-first pre-order: bounds float64 [N, 4] (ltrb) and their componentLabels."""
  bounds, labels = [], []
  stack = [(child, f"root.children[{i}]") for i, child in reversed(list(enumerate(_children(root, where, "root"))))]
  while stack:
    node, path = stack.pop()
    bounds.append(_node_bounds(node, where, path))
    label = node.get("componentLabel")
    if not isinstance(label, str):
      raise DataError(f"{where}: node {path} has componentLabel {label!r}; expected a string such as 'Text'.")
    labels.append(label)
    children = _children(node, where, path)
    stack.extend((child, f"{path}.children[{i}]") for i, child in reversed(list(enumerate(children))))
  return np.asarray(bounds, np.float64).reshape(-1, 4), labels


def screen_canvas(root: dict[str, Any], where: str) -> tuple[float, float] | None:
  """The canvas (W, H) of a screen, or None if the official filter drops it (origin not (0, 0), or landscape)."""
  x1, y1, width, height = _node_bounds(root, where, "root")
  if x1 != 0 or y1 != 0 or height < width:
    return None
  return float(width), float(height)


def to_layout(root: dict[str, Any], where: str, label_set: Sequence[str], max_elements: int) -> dict | None:
  """A screen's kept elements: {"canvas" [2], "labels" [n], "boxes" [n, 4]}, or None if the screen is dropped."""
  canvas = screen_canvas(root, where)
  bounds, names = flatten_hierarchy(root, where)  # [N, 4] ltrb pixels
  if canvas is None:
    return None
  index = {name: i for i, name in enumerate(label_set)}
  labels = np.asarray([index.get(name, -1) for name in names], np.int32).reshape(-1)  # [N], -1: not in the set
  keep = (labels >= 0) & boxes_lib.valid_boxes(bounds, *canvas)  # [N]
  if not 0 < keep.sum() <= max_elements:
    return None
  boxes = boxes_lib.normalize(boxes_lib.ltrb_to_cxcywh(bounds[keep]), *canvas)  # [n, 4]
  return {"canvas": np.asarray(canvas, np.float32), "labels": labels[keep], "boxes": boxes.astype(np.float32)}


def screen_id(file_name: str, where: str) -> int:
  """The RICO screen id of `<id>.json`."""
  stem = file_name[: -len(".json")]
  if not stem.isdigit():
    raise DataError(f"{where}: a RICO screen file is named <screen id>.json, not {file_name!r}.")
  return int(stem)


@dataclasses.dataclass(eq=False)
class RicoConfig(tfds.core.BuilderConfig):
  """The label set (elements with other labels are dropped) and the most elements a kept screen may have."""

  labels: tuple[str, ...] = RICO25_LABELS
  max_elements: int = 25


class Rico(LayoutBuilder):
  """RICO semantic-annotation layouts, preprocessed and split as LayoutDM / LayoutGAN++ do."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
    RicoConfig(
      name="rico25-max25",
      labels=RICO25_LABELS,
      max_elements=25,
      description="LayoutDM (Inoue et al., CVPR'23): 25 labels, at most 25 elements.",
    ),
    RicoConfig(
      name="rico13-max9",
      labels=RICO13_LABELS,
      max_elements=9,
      description="LayoutGAN++ (Kikuchi et al., ACM MM'21): 13 labels, at most 9 elements.",
    ),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
  SOURCE_ID = "screen_id"
  HOMEPAGE = "http://www.interactionmining.org/rico.html"
  CITATION = _CITATION
  code_path = epath.Path(__file__)  # TFDS would otherwise need the `importlib_resources` backport

  def _manual_files(self) -> ManualFiles:
    files = ManualFiles(self.manual_directory())
    if not files.exists():
      raise DataError(missing_files_message(files))
    return files

  def _kept_layouts(self, files: ManualFiles) -> list[dict[str, Any]]:
    """The config's kept screens in file-name order, with their ids."""
    config = self.builder_config
    layouts = []
    for file_name, where, content in files.screens():
      layout = to_layout(parse_screen(content, where), where, config.labels, config.max_elements)
      if layout is not None:
        layouts.append({"screen_id": screen_id(file_name, where), "file_name": file_name, **layout})
    return layouts

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> Mapping[str, Iterator]:
    layouts = self._kept_layouts(self._manual_files())
    positions = split_positions(len(layouts), SPLIT_ENDS)
    return {split: self._generate_examples(layouts, ids) for split, ids in zip(SPLITS, positions, strict=True)}
