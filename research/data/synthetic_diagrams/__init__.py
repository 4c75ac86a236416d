"""Procedural diagrams (TFDS builder `synthetic_diagrams`, ArrayRecord files); see generator.py.

Importing this package registers the builder, after which
`tfds.data_source("synthetic_diagrams/full", split="train", data_dir=...)` reads it.
"""

from __future__ import annotations

import os

from research.data.prepare import prepare_builder
from research.data.synthetic_diagrams.builder import SyntheticDiagrams

__all__ = ["CONFIGS", "SyntheticDiagrams", "prepare"]

CONFIGS = tuple(config.name for config in SyntheticDiagrams.BUILDER_CONFIGS)  # "full", "tiny"


def prepare(data_dir: str | os.PathLike[str], config: str = "full") -> None:
  """Builds the `config` ("full" or "tiny") under `data_dir` unless it is already there."""
  prepare_builder(
    SyntheticDiagrams, data_dir, how_long="about a minute" if config == "full" else "seconds", config=config
  )
