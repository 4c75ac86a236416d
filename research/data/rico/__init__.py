"""RICO layouts from the semantic annotations (TFDS builder `rico`, configs `rico25-max25` and `rico13-max9`).

The builder reads the released `semantic_annotations.zip` (or its extracted folder) from the manual
directory; see `MANUAL_DOWNLOAD_INSTRUCTIONS`. Importing this package registers the builder, after which
`tfds.data_source("rico/rico25-max25", split="train", data_dir=...)` reads it.
"""

from __future__ import annotations

import os

from etils import epath

from research.data.prepare import prepare_builder
from research.data.rico.rico import (
  CONFIGS,
  DOWNLOAD_URL,
  MANUAL_DOWNLOAD_INSTRUCTIONS,
  RICO13_LABELS,
  RICO25_LABELS,
  SPLITS,
  Rico,
)

__all__ = [
  "CONFIGS",
  "DOWNLOAD_URL",
  "MANUAL_DOWNLOAD_INSTRUCTIONS",
  "RICO13_LABELS",
  "RICO25_LABELS",
  "SPLITS",
  "Rico",
  "prepare",
]


def prepare(
  data_dir: str | os.PathLike[str], config: str = "rico25-max25", manual_dir: epath.PathLike | None = None
) -> None:
  """Builds RICO `config` under `data_dir/rico/<config>/<version>/` unless it is already there.

  Reads the released zip from `manual_dir` (default `data_dir/downloads/manual`), see
  `MANUAL_DOWNLOAD_INSTRUCTIONS`, and `prepare_builder` for the locking.
  """
  if config not in CONFIGS:
    raise ValueError(f"config={config!r} is not a RICO config; use one of {list(CONFIGS)}.")
  prepare_builder(Rico, data_dir, how_long="a minute or two", config=config, manual_dir=manual_dir)
