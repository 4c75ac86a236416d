"""Reproduce GRIT's PATTERN result (Table 2 of Ma et al., ICML 2023).

    python -m experiments.grit_pattern.reproduce            # paper protocol: 4 seeds × 100 epochs
    python -m experiments.grit_pattern.reproduce --quick    # 1 seed, a shortened schedule

Each run reports the class-averaged test accuracy at the best-validation epoch.
Writes OUT/results.md and OUT/results.json (OUT defaults to runs/grit_pattern/reproduce).
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.grit_pattern import config as experiment_config
from research.analysis import reproduction
from research.train import train_or_load

SCHEDULE = reproduction.Schedule(epochs=100, warmup_epochs=5, quick_epochs=12, quick_warmup_epochs=1)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="grit_pattern",
      row="GRIT (RRWP)",
      metric="test/accuracy_sbm",
      label="test accuracy, class-averaged (%)",
      scale=100.0,
      paper=reproduction.paper_number("grit", "benchmarking_gnns", model="GRIT", dataset="PATTERN"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=experiment_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=experiment_config.get_config, train=train_or_load,
  )


if __name__ == "__main__":
  main()
