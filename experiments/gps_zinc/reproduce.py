"""Reproduce GraphGPS's ZINC result (Table 2 of Rampášek et al., NeurIPS 2022).

    python -m experiments.gps_zinc.reproduce --manual_dir=DIR            # paper protocol: 10 seeds × 2000 epochs
    python -m experiments.gps_zinc.reproduce --manual_dir=DIR --quick    # 1 seed, a shortened schedule (CPU)

Each run reports the test MAE at the epoch with the best validation MAE, as
GraphGPS does. ZINC is read from molecules.zip in --manual_dir (default
<data_dir>/downloads/manual). Writes OUT/results.md and OUT/results.json (OUT
defaults to runs/gps_zinc/reproduce); a rerun skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.gps_zinc import config as gps_config
from research.analysis import reproduction
from research.train import train_or_load

SCHEDULE = reproduction.Schedule(epochs=2000, warmup_epochs=50, quick_epochs=20, quick_warmup_epochs=1)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="gps_zinc",
      row="GPS (GINE + Transformer, RWSE)",
      metric="test/mae",
      label="test MAE",
      paper=reproduction.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="ZINC"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=gps_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=gps_config.get_config, train=train_or_load, manual_dir=True,
  )


if __name__ == "__main__":
  main()
