"""Reproduce SAN's ZINC result (the SOTA-comparison table of Kreuzer et al., NeurIPS 2021).

    python -m experiments.san_zinc.reproduce --manual_dir=DIR            # paper protocol: 4 seeds, up to 1000 epochs
    python -m experiments.san_zinc.reproduce --manual_dir=DIR --quick    # 1 seed, 20 epochs

Each run reports the test MAE at the epoch with the best validation MAE, as
the official main_ZINC_graph_regression.py does; a run ends after 1000 epochs
or once reduce-on-plateau takes the learning rate below 1e-6. ZINC is read
from molecules.zip in --manual_dir (default <data_dir>/downloads/manual).
Writes OUT/results.md and OUT/results.json (OUT defaults to
runs/san_zinc/reproduce); a rerun skips finished runs and resumes interrupted
ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.san_zinc import config as experiment_config
from research.analysis import reproduction
from research.train import train_or_load

SCHEDULE = reproduction.Schedule(epochs=1000, warmup_epochs=0, quick_epochs=20, quick_warmup_epochs=0)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="san_zinc",
      row="SAN (full graph, node LPE)",
      metric="test/mae",
      label="test MAE",
      paper=reproduction.paper_number("san", "benchmarking_gnns", model="SAN", dataset="ZINC"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=experiment_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=experiment_config.get_config, train=train_or_load, manual_dir=True,
  )


if __name__ == "__main__":
  main()
