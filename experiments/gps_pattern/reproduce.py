"""Reproduce GraphGPS's PATTERN result (Table 2 of Rampášek et al., NeurIPS 2022).

    python -m experiments.gps_pattern.reproduce            # paper protocol: 10 seeds × 100 epochs
    python -m experiments.gps_pattern.reproduce --quick    # 1 seed, a shortened schedule (CPU)

Each run reports the class-averaged test accuracy at the epoch with the best
validation accuracy, as GraphGPS does. Writes OUT/results.md and
OUT/results.json (OUT defaults to runs/gps_pattern/reproduce) and keeps every
run directory under OUT/runs/; a rerun skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.gps_pattern import config as gps_config
from research.analysis import reproduction
from research.train import train_or_load

SCHEDULE = reproduction.Schedule(epochs=100, warmup_epochs=5, quick_epochs=8, quick_warmup_epochs=0)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="gps_pattern",
      row="GPS (GatedGCN + Transformer, LapPE)",
      metric="test/accuracy_sbm",
      label="test accuracy, class-averaged (%)",
      scale=100.0,
      paper=reproduction.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="PATTERN"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=gps_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=gps_config.get_config, train=train_or_load,
  )


if __name__ == "__main__":
  main()
