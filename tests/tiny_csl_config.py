"""A config file for the sweep and reproduction tests: CSL's `:smoke` (18 steps), small sweeps, a two-row protocol.

The runs load it by path (`--config=tests/tiny_csl_config.py:ARG`) from the repository root.
"""

from __future__ import annotations

import ml_collections

from configs import sweeps
from experiments.benchmarking_gnns_csl import config as csl_config

PATH = "tests/tiny_csl_config.py"  # as the commands name it, from the repository root
SEEDS = (1, 2)


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  return csl_config.get_config(",".join(["smoke", *filter(None, [arg])]))


def get_sweep(name: str = "") -> list[dict[str, object]]:
  """seeds: one run per seed; rows: GatedGCN without and with LapPE, per seed (4 runs)."""
  return sweeps.select(
    name,
    {
      "seeds": sweeps.product({"seed": SEEDS}),
      "rows": sweeps.product({"model.pe": ["none", "lap"], "seed": SEEDS}),
    },
  )


def get_protocol() -> dict[str, object]:
  """Two rows of the CSL table over the sweep `rows`; --quick: fold 1, seed 1."""
  return {
    "sweep": "rows",
    "metric": "test/accuracy",
    "at": "final",
    "scale": 100.0,
    "label": "test accuracy (%)",
    "paper": "benchmarking_gnns",
    "rows": [
      {
        "name": "GatedGCN",
        "runs": {"model.pe": "none"},
        "table": "csl_pe_study",
        "match": {"model": "GatedGCN", "pe": "none"},
      },
      {
        "name": "GatedGCN + LapPE",
        "runs": {"model.pe": "lap"},
        "table": "csl",
        "match": {"model": "GatedGCN", "pe": "laplacian_20"},
      },
    ],
    "quick": {"config_arg": "fold=1", "runs": {"seed": [1]}},
    "parallel": 2,
  }
