"""ZINC molecular graph regression (TFDS builder `zinc`, configs `subset`, `full`, `subset_paths`, and
`tiny`, `tiny_paths` for smoke runs).

The builder reads the released `molecules.zip` (or its extracted `molecules/`
folder) from the manual directory; see `MANUAL_DOWNLOAD_INSTRUCTIONS`. The
`tiny` configs read the 20-molecule fixture shipped in `TINY_DIR` instead (not
ZINC: random molecule-like graphs in its released format), so smoke runs need
no download.
Importing this package registers the builder, after which
`tfds.data_source("zinc/subset", split="train", data_dir=...)` reads it.
"""

from __future__ import annotations

import os

from etils import epath

from research.data.prepare import prepare_builder
from research.data.zinc.torch_pickle import UnsafePickleError
from research.data.zinc.zinc import (
  DOWNLOAD_URL,
  EDGE_VOCAB,
  INDEX_URL,
  LABEL_KEY,
  MANUAL_DOWNLOAD_INSTRUCTIONS,
  NODE_VOCAB,
  NUM_GRAPHS,
  PATH_HOPS,
  PE_DIM,
  RWSE_DIM,
  SPLITS,
  TINY_DIR,
  Zinc,
)

__all__ = [
  "CONFIGS",
  "DOWNLOAD_URL",
  "EDGE_VOCAB",
  "INDEX_URL",
  "LABEL_KEY",
  "MANUAL_DOWNLOAD_INSTRUCTIONS",
  "NODE_VOCAB",
  "NUM_GRAPHS",
  "PATH_HOPS",
  "PE_DIM",
  "RWSE_DIM",
  "SPLITS",
  "TINY_CONFIGS",
  "TINY_DIR",
  "UnsafePickleError",
  "Zinc",
  "prepare",
]

# All read every molecule of the three pickles; "full" also encodes all 249,456.
_HOW_LONG = {
  "subset": "a minute or two",
  "full": "5 to 30 minutes",
  "subset_paths": "a minute or two",
  "tiny": "a few seconds",
  "tiny_paths": "a few seconds",
}
CONFIGS = tuple(_HOW_LONG)
TINY_CONFIGS = ("tiny", "tiny_paths")  # the shipped fixture, not ZINC


def prepare(data_dir: str | os.PathLike[str], config: str = "subset", manual_dir: epath.PathLike | None = None) -> None:
  """Builds ZINC `config` under `data_dir/zinc/<config>/<version>/` unless it is already there.

  Reads the released files from `manual_dir` (default `data_dir/downloads/manual`),
  see `MANUAL_DOWNLOAD_INSTRUCTIONS`, and `prepare_builder` for the locking; the
  TINY_CONFIGS read TINY_DIR and ignore `manual_dir`. Each released config
  unpickles all of train.pickle, which takes a few GB of memory. Missing files
  are a DataError that says what to download and where to put it.
  """
  if config not in _HOW_LONG:
    raise ValueError(f"config={config!r} is not a ZINC config; use one of {sorted(CONFIGS)}.")
  prepare_builder(Zinc, data_dir, how_long=_HOW_LONG[config], config=config, manual_dir=manual_dir)
