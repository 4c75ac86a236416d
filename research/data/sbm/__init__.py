"""PATTERN and CLUSTER, the SBM node classification datasets of Benchmarking GNNs (TFDS, ArrayRecord).

Importing this package registers the builders `pattern` and `cluster`, each
with the configs "full" (the paper's sizes) and "tiny" (64 / 16 / 16 graphs),
after which `tfds.data_source("pattern/tiny", split="train", data_dir=...)`
reads a prepared copy. See generator.py for the procedure and sbm.py for the
record fields (from version 1.1.0 they include Exphormer's expander edges, with
`EXPANDER_DEGREES[name]` random permutations per graph; from 1.2.0 the Graph
Transformer's LapPE, `LAP_SYM_PE_DIM` eigenpairs of the symmetric normalised
Laplacian).
"""

from __future__ import annotations

import os

from research.data.prepare import prepare_builder
from research.data.sbm.generator import SPLITS
from research.data.sbm.sbm import (
  CLUSTER_EXPANDER_DEGREE,
  LAP_SYM_PE_DIM,
  PATTERN_EXPANDER_DEGREE,
  PE_DIM,
  SEED,
  Cluster,
  Pattern,
)

__all__ = [
  "CLUSTER_INPUT_DIM",
  "CLUSTER_NUM_CLASSES",
  "CONFIGS",
  "Cluster",
  "EXPANDER_DEGREES",
  "INPUT_DIMS",
  "LAP_SYM_PE_DIM",
  "NAMES",
  "NUM_CLASSES",
  "PATTERN_INPUT_DIM",
  "PATTERN_NUM_CLASSES",
  "PE_DIM",
  "Pattern",
  "SEED",
  "SPLITS",
  "prepare",
]

PATTERN_NUM_CLASSES = 2  # node in the planted pattern or not
CLUSTER_NUM_CLASSES = 6  # the node's community
PATTERN_INPUT_DIM = 3  # one-hot node feature width
CLUSTER_INPUT_DIM = 7
NAMES = ("pattern", "cluster")
CONFIGS = ("full", "tiny")
NUM_CLASSES = {"pattern": PATTERN_NUM_CLASSES, "cluster": CLUSTER_NUM_CLASSES}
INPUT_DIMS = {"pattern": PATTERN_INPUT_DIM, "cluster": CLUSTER_INPUT_DIM}
# Permutations d of the stored expander edges (2 d edges per node), Exphormer's exp_deg.
EXPANDER_DEGREES = {"pattern": PATTERN_EXPANDER_DEGREE, "cluster": CLUSTER_EXPANDER_DEGREE}

_BUILDERS = {"pattern": Pattern, "cluster": Cluster}
_HOW_LONG = {  # on 2 CPU cores; most of it is eigendecompositions (LapPE, expander spectral gaps)
  ("pattern", "full"): "1 to 2 minutes",
  ("cluster", "full"): "30 to 60 seconds",
  ("pattern", "tiny"): "about a second",
  ("cluster", "tiny"): "about a second",
}


def prepare(data_dir: str | os.PathLike[str], name: str, config: str = "full") -> None:
  """Builds `name` ("pattern" or "cluster") with `config` ("full" or "tiny") under `data_dir` once.

  Idempotent and safe across processes (see `prepare_builder`); the files go to
  `data_dir/<name>/<config>/<version>/`.
  """
  if name not in _BUILDERS:
    raise ValueError(f"Unknown SBM dataset name={name!r}; use one of {NAMES}.")
  if config not in CONFIGS:
    raise ValueError(f"Unknown config={config!r} for {name}; use one of {CONFIGS} ('tiny' for smoke tests).")
  prepare_builder(_BUILDERS[name], data_dir, how_long=_HOW_LONG[name, config], config=config)
