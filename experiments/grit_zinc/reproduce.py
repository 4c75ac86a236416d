"""Reproduce GRIT's ZINC result (Table 2 of Ma et al., ICML 2023).

    python -m experiments.grit_zinc.reproduce --manual_dir=DIR            # paper protocol: 4 seeds × 2000 epochs
    python -m experiments.grit_zinc.reproduce --manual_dir=DIR --quick    # 1 seed, a shortened schedule

Each run reports the test MAE at the best-validation epoch. ZINC is read from
molecules.zip in --manual_dir. Writes OUT/results.md and OUT/results.json (OUT
defaults to runs/grit_zinc/reproduce).
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.grit_zinc import config as experiment_config
from research.analysis import reproduction
from research.train import train_or_load

SCHEDULE = reproduction.Schedule(epochs=2000, warmup_epochs=50, quick_epochs=20, quick_warmup_epochs=1)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="grit_zinc",
      row="GRIT (RRWP)",
      metric="test/mae",
      label="test MAE",
      paper=reproduction.paper_number("grit", "benchmarking_gnns", model="GRIT", dataset="ZINC"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=experiment_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=experiment_config.get_config, train=train_or_load, manual_dir=True,
  )


if __name__ == "__main__":
  main()
