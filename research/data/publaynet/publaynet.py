"""PubLayNet document layouts, read from the released COCO labels, as LayoutGAN++ and LayoutDM do.

Data. PubLayNet's `labels.tar.gz` holds `publaynet/train.json` and `publaynet/val.json` in COCO format:
`images` (id, width, height, file_name), `annotations` (image_id, category_id, bbox [x, y, w, h] in pixels)
and `categories` (id, name) for the 5 classes text, title, list, table, figure. The page images are not needed.

Preprocessing (LayoutGAN++: Kikuchi et al., ACM MM'21, const_layout `data/publaynet.py`; LayoutDM: Inoue et al.,
CVPR'23, layout-dm `src/trainer/trainer/datasets/publaynet.py`; the two differ only in the maximum element count):

1. Images in increasing id order; an image is dropped if it is landscape (height < width).
2. An image's elements are its annotations in the order the file lists them. An element is kept iff its box
   lies inside the page with positive area: with (x1, y1, x2, y2) = (x, y, x + w, y + h),
   0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H (`research.layout.boxes.valid_boxes`).
3. An image is dropped if 0 or more than `max_elements` elements remain.
4. Boxes become normalised centre boxes (cx, cy, w, h) = ((x + w/2) / W, (y + h/2) / H, w / W, h / H); labels
   are the category's index in LABELS, found by the category's name.
5. Splits: the kept images of train.json are shuffled by `torch.randperm(N, generator=manual_seed(0))`
   (`research.data.layout_builder.torch_randperm` recomputes it without torch) and cut at int(0.95 N): train is the
   first part, val the rest; the kept images of val.json, in id order, are the test split.

Configs. "max25" (LayoutDM) and "max9" (LayoutGAN++: 160,549 / 8,450 / 4,226 layouts).

Records. Record i of a split is the i-th layout of the official split, with

  layout_id     int32, the image's position among the config's kept images of its file (train.json for
                train and val, val.json for test), in id order
  image_id      int32, the COCO image id
  file_name     text, the page image's file name
  canvas        float32 [2], the page's (W, H) in pixels
  num_elements  int32, n
  labels        int32 [n], indices into LABELS
  boxes         float32 [n, 4], normalised (cx, cy, w, h), in source order (models reorder)

train.json is large: parsing it takes several GB of memory and a few minutes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tarfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from research.data.layout_builder import LayoutBuilder, split_positions
from research.errors import DataError
from research.layout import boxes as boxes_lib

DOWNLOAD_URL = "https://dax-cdn.cdn.appdomain.cloud/dax-publaynet/1.0.0/labels.tar.gz"
ARCHIVE_NAME = "labels.tar.gz"
FOLDER = "publaynet"
SOURCE_FILES = ("train.json", "val.json")
SPLITS = ("train", "val", "test")
TRAIN_END = 0.95  # of the shuffled kept images of train.json: train = [0, int(0.95 N)), val = the rest
LABELS = ("text", "title", "list", "table", "figure")  # const_layout / layout-dm index order
CONFIGS = ("max25", "max9")

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Download PubLayNet's labels (about 314 MB; the page images are not needed):
  curl -L -o labels.tar.gz '{DOWNLOAD_URL}'
and put labels.tar.gz in the manual directory (`<data_dir>/downloads/manual/` unless you pass another), or
extract it there so that `<manual_dir>/{FOLDER}/train.json` and `<manual_dir>/{FOLDER}/val.json` exist.
"""

_CITATION = """\
@inproceedings{zhong2019publaynet,
  title={PubLayNet: Largest Dataset Ever for Document Layout Analysis},
  author={Zhong, Xu and Tang, Jianbin and Jimeno Yepes, Antonio},
  booktitle={ICDAR},
  year={2019}
}
"""


class ManualFiles:
  """train.json and val.json, as `<manual_dir>/publaynet/<name>`, `<manual_dir>/<name>` or inside labels.tar.gz."""

  def __init__(self, manual_dir: epath.PathLike):
    self.manual_dir = epath.Path(manual_dir)
    self.archive = self.manual_dir / ARCHIVE_NAME

  def _extracted(self, name: str) -> epath.Path | None:
    return next((p for p in (self.manual_dir / FOLDER / name, self.manual_dir / name) if p.is_file()), None)

  def missing(self) -> list[str]:
    """The files of SOURCE_FILES that are neither extracted nor (if it exists) looked for in the archive."""
    if self.archive.is_file():
      return []  # a member missing from the archive is reported when it is read
    return [name for name in SOURCE_FILES if self._extracted(name) is None]

  @contextlib.contextmanager
  def open(self, name: str) -> Iterator[tuple[IO[bytes], str]]:
    """`name` opened for binary reading, with its location for messages."""
    if (path := self._extracted(name)) is not None:
      with path.open("rb") as f:
        yield f, os.fspath(path)
      return
    try:
      with self.archive.open("rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as archive:
        member = next((m for m in archive if m.isfile() and os.path.basename(m.name) == name), None)
        if member is None:
          raise DataError(f"{self.archive} holds no {FOLDER}/{name}; re-download it from {DOWNLOAD_URL}.")
        yield archive.extractfile(member), f"{self.archive}:{member.name}"
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
      if isinstance(e, FileNotFoundError):
        raise
      raise DataError(f"{self.archive} is not a readable tar archive ({e}); re-download it from {DOWNLOAD_URL}.") from e


def missing_files_message(manual_dir: epath.PathLike, missing: Sequence[str]) -> str:
  """What to download, and where to put it, when `missing` files are not in `manual_dir`."""
  manual_dir = epath.Path(manual_dir)
  expected = "".join(f"  {manual_dir / FOLDER / name},\n" for name in missing)
  return (
    f"PubLayNet needs {', '.join(missing)}, not found in the manual directory {manual_dir}; expected\n"
    f"{expected}or the archive {manual_dir / ARCHIVE_NAME} holding them. Download it with:\n"
    f"  mkdir -p {manual_dir} && curl -L -o {manual_dir / ARCHIVE_NAME} '{DOWNLOAD_URL}'"
  )


def parse_coco(content: bytes, where: str) -> dict[str, list[Any]]:
  """A COCO file's `images`, `annotations` and `categories`; `where` names the file in errors."""
  try:
    coco = json.loads(content)
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise DataError(f"{where} is not valid JSON ({e}); re-download {DOWNLOAD_URL}.") from None
  if not isinstance(coco, dict):
    raise DataError(f"{where} holds a JSON {type(coco).__name__}, not a COCO object.")
  for key in ("images", "annotations", "categories"):
    if not isinstance(coco.get(key), list):
      found = "is missing" if key not in coco else f"is a {type(coco[key]).__name__}"
      raise DataError(f"{where}: the COCO key {key!r} {found}; expected a list. Re-download {DOWNLOAD_URL}.")
  return coco


def _column(
  items: Sequence[Any], key: str, where: str, what: str, dtype: type, shape: tuple[int, ...] = ()
) -> np.ndarray:
  """items[i][key] for all i as an array [len(items), *shape] of `dtype`, naming the first bad entry in errors."""
  try:
    values = np.asarray([item[key] for item in items], dtype)
    if values.shape[1:] == shape and (dtype is not np.float64 or np.isfinite(values).all()):
      return values.reshape(len(items), *shape)
  except (KeyError, TypeError, ValueError):
    pass
  for i, item in enumerate(items):
    value = item.get(key) if isinstance(item, dict) else None
    try:
      ok = np.asarray(value, dtype).shape == shape and (dtype is not np.float64 or np.isfinite(value).all())
    except (TypeError, ValueError):
      ok = False
    if not ok:
      found = f"{key}={value!r}" if isinstance(item, dict) and key in item else f"no {key!r}"
      expected = f"{shape[0]} numbers" if shape else "a number"
      raise DataError(f"{where}: {what} {i} has {found}; expected {expected}.")
  raise DataError(f"{where}: the {what}s' {key!r} values have mixed shapes.")


def _lookup(sorted_keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Positions of `queries` [Q] in `sorted_keys` [K], and whether each was found [Q]."""
  positions = np.minimum(np.searchsorted(sorted_keys, queries), max(len(sorted_keys) - 1, 0))
  found = sorted_keys[positions] == queries if len(sorted_keys) else np.zeros(len(queries), bool)
  return positions, found


def _sorted_unique(ids: np.ndarray, where: str, what: str) -> np.ndarray:
  """The order [K] that sorts `ids`; refuses duplicates."""
  order = np.argsort(ids, kind="stable")
  repeated = ids[order][1:][np.diff(ids[order]) == 0]
  if repeated.size:
    raise DataError(f"{where}: {what} id {repeated[0]} occurs more than once.")
  return order


def category_labels(categories: Sequence[Any], where: str) -> tuple[np.ndarray, np.ndarray]:
  """Sorted category ids [C] and their indices into LABELS [C], matched by name."""
  ids = _column(categories, "id", where, "category", np.int64)
  names = [c.get("name") for c in categories]
  unknown = [name for name in names if name not in LABELS]
  if unknown:
    raise DataError(f"{where}: category name {unknown[0]!r} is not one of PubLayNet's {LABELS}.")
  order = _sorted_unique(ids, where, "category")
  return ids[order], np.asarray([LABELS.index(names[i]) for i in order], np.int32).reshape(-1)


def to_layouts(coco: Mapping[str, list[Any]], where: str, max_elements: int) -> list[dict[str, Any]]:
  """The kept images of a parsed COCO file, in id order, each with canvas [2], labels [n] and boxes [n, 4]."""
  images, annotations = coco["images"], coco["annotations"]
  image_ids = _column(images, "id", where, "image", np.int64)  # [I]
  order = _sorted_unique(image_ids, where, "image")
  image_ids = image_ids[order]
  sides = [_column(images, key, where, "image", np.float64) for key in ("width", "height")]
  canvas = np.stack(sides, axis=-1)[order]  # [I, 2]
  if (bad := np.flatnonzero(~(canvas > 0).all(-1))).size:
    raise DataError(f"{where}: image {image_ids[bad[0]]} has size {canvas[bad[0]].tolist()}; sizes must be > 0.")
  category_ids, category_label = category_labels(coco["categories"], where)

  owner, known = _lookup(image_ids, _column(annotations, "image_id", where, "annotation", np.int64))  # [A]
  if (bad := np.flatnonzero(~known)).size:
    raise DataError(f"{where}: annotation {bad[0]} has image_id {annotations[bad[0]]['image_id']}, which no image has.")
  category, known = _lookup(category_ids, _column(annotations, "category_id", where, "annotation", np.int64))
  if (bad := np.flatnonzero(~known)).size:
    raise DataError(
      f"{where}: annotation {bad[0]} has category_id {annotations[bad[0]]['category_id']}, "
      f"which is not in 'categories' (ids {category_ids.tolist()})."
    )
  ltrb = boxes_lib.ltwh_to_ltrb(_column(annotations, "bbox", where, "annotation", np.float64, (4,)))  # [A, 4]

  width, height = canvas[owner, 0], canvas[owner, 1]  # [A]
  keep = boxes_lib.valid_boxes(ltrb[:, None, :], width, height)[:, 0]  # [A]
  owner, ltrb, labels = owner[keep], ltrb[keep], category_label[category[keep]]
  grouped = np.argsort(owner, kind="stable")  # by image, file order within an image
  counts = np.bincount(owner, minlength=len(image_ids))  # [I]
  kept_images = (canvas[:, 1] >= canvas[:, 0]) & (counts > 0) & (counts <= max_elements)  # [I]
  boxes = boxes_lib.normalize(
    boxes_lib.ltrb_to_cxcywh(ltrb[grouped][:, None, :]), width[keep][grouped], height[keep][grouped]
  )[:, 0].astype(np.float32)  # [A', 4]
  starts = np.concatenate([[0], np.cumsum(counts)])  # [I + 1]
  file_names = [images[i].get("file_name", "") for i in order]
  return [
    {
      "image_id": np.int32(image_ids[i]),
      "file_name": str(file_names[i]),
      "canvas": canvas[i].astype(np.float32),
      "labels": labels[grouped][starts[i] : starts[i + 1]],
      "boxes": boxes[starts[i] : starts[i + 1]],
    }
    for i in np.flatnonzero(kept_images)
  ]


@dataclasses.dataclass(eq=False)
class PubLayNetConfig(tfds.core.BuilderConfig):
  """The most elements a kept page may have."""

  max_elements: int = 25


class PubLayNet(LayoutBuilder):
  """PubLayNet page layouts, preprocessed and split as LayoutDM / LayoutGAN++ do."""

  name = "publaynet"
  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
    PubLayNetConfig(name="max25", max_elements=25, description="LayoutDM (Inoue et al., CVPR'23): at most 25."),
    PubLayNetConfig(name="max9", max_elements=9, description="LayoutGAN++ (Kikuchi et al., ACM MM'21): at most 9."),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
  SOURCE_ID = "image_id"
  HOMEPAGE = "https://github.com/ibm-aur-nlp/PubLayNet"
  CITATION = _CITATION
  code_path = epath.Path(__file__)  # TFDS would otherwise need the `importlib_resources` backport

  def _manual_files(self) -> ManualFiles:
    files = ManualFiles(self.manual_directory())
    if missing := files.missing():
      raise DataError(missing_files_message(files.manual_dir, missing))
    return files

  def _read_layouts(self, files: ManualFiles, name: str) -> list[dict[str, Any]]:
    with files.open(name) as (f, where):
      coco = parse_coco(f.read(), where)
    return to_layouts(coco, where, self.builder_config.max_elements)

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> Mapping[str, Iterator]:
    files = self._manual_files()
    train_file, test_file = (self._read_layouts(files, name) for name in SOURCE_FILES)
    train, val = split_positions(len(train_file), (TRAIN_END,))
    return {
      "train": self._generate_examples(train_file, train),
      "val": self._generate_examples(train_file, val),
      "test": self._generate_examples(test_file, np.arange(len(test_file))),
    }
