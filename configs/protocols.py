"""Building blocks of a config's `get_protocol()`: how `python -m experiments.<name>.reproduce` measures
its paper table, as a plain dict (the format: research/analysis/reproduction.py).

    def get_protocol() -> dict[str, object]:
      return protocols.over_seeds(
          protocols.SBM_ACCURACY, row="GPS (GatedGCN + Transformer, LapPE)", paper="graphgps",
          match={"model": "GPS", "dataset": "PATTERN"}, seeds=PAPER_SEEDS, quick_epochs=8, quick_warmup_epochs=0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# The metrics the graph papers report, as their tables show them.
SBM_ACCURACY = {"metric": "test/accuracy_sbm", "scale": 100.0, "label": "test accuracy, class-averaged (%)"}
MAE = {"metric": "test/mae", "label": "test MAE"}


def over_seeds(
  metric: Mapping[str, Any],
  *,
  row: str,
  paper: str,
  match: Mapping[str, Any],
  seeds: Sequence[int],
  quick_epochs: int,
  quick_warmup_epochs: int,
  at: str = "best",
  table: str = "benchmarking_gnns",
) -> dict[str, Any]:
  """One table row over the sweep `seeds` (one run per seed, the metric read `at` the best-validation or the
  last step), compared with the row of `papers/<paper>.yaml` table `table` that `match` names.

  --quick: the first seed, `quick_epochs` epochs of which `quick_warmup_epochs` warm up (config arguments
  `epochs` and `warmup_epochs`).
  """
  return {
    "sweep": "seeds",
    **metric,
    "at": at,
    "paper": paper,
    "rows": [{"name": row, "table": table, "match": dict(match)}],
    "quick": {
      "config_arg": f"epochs={quick_epochs},warmup_epochs={quick_warmup_epochs}",
      "runs": {"seed": list(seeds[:1])},
    },
  }
