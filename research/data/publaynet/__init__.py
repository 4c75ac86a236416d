"""PubLayNet page layouts from the COCO labels (TFDS builder `publaynet`, configs `max25` and `max9`).

The builder reads the released `labels.tar.gz` (or its extracted `publaynet/` folder) from the manual
directory; see `MANUAL_DOWNLOAD_INSTRUCTIONS`. Importing this package registers the builder, after which
`tfds.data_source("publaynet/max25", split="train", data_dir=...)` reads it.
"""

from __future__ import annotations

import os

from etils import epath

from research.data.prepare import prepare_builder
from research.data.publaynet.publaynet import (
  CONFIGS,
  DOWNLOAD_URL,
  LABELS,
  MANUAL_DOWNLOAD_INSTRUCTIONS,
  SPLITS,
  PubLayNet,
)

__all__ = ["CONFIGS", "DOWNLOAD_URL", "LABELS", "MANUAL_DOWNLOAD_INSTRUCTIONS", "SPLITS", "PubLayNet", "prepare"]


def prepare(data_dir: str | os.PathLike[str], config: str = "max25", manual_dir: epath.PathLike | None = None) -> None:
  """Builds PubLayNet `config` under `data_dir/publaynet/<config>/<version>/` unless it is already there.

  Reads the released labels from `manual_dir` (default `data_dir/downloads/manual`), see
  `MANUAL_DOWNLOAD_INSTRUCTIONS`, and `prepare_builder` for the locking. Parsing train.json takes
  several GB of memory.
  """
  if config not in CONFIGS:
    raise ValueError(f"config={config!r} is not a PubLayNet config; use one of {list(CONFIGS)}.")
  prepare_builder(PubLayNet, data_dir, how_long="a few minutes", config=config, manual_dir=manual_dir)
