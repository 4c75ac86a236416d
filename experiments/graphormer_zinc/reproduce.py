"""Reproduce Graphormer-Slim's ZINC result (Ying et al., NeurIPS 2021).

    python -m experiments.graphormer_zinc.reproduce --manual_dir=DIR            # 4 seeds × 400k updates
    python -m experiments.graphormer_zinc.reproduce --manual_dir=DIR --quick    # 1 seed, 20 epochs (780 updates)

Each run reports the test MAE at the best validation MAE (evaluated every 10
epochs), the checkpoint v1.0 keeps. ZINC is read from molecules.zip in
--manual_dir (default <data_dir>/downloads/manual) and built once as the
"subset_paths" config, which adds the shortest-path fields. Writes
OUT/results.md and OUT/results.json (OUT defaults to
runs/graphormer_zinc/reproduce); a rerun skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.graphormer_zinc import config as experiment_config
from research.analysis import reproduction
from research.train import train_or_load

SCHEDULE = reproduction.Schedule(
    epochs=experiment_config.EPOCHS, warmup_epochs=experiment_config.WARMUP_EPOCHS, quick_epochs=20,
    quick_warmup_epochs=2,
)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="graphormer_zinc",
      row="Graphormer-Slim",
      metric="test/mae",
      label="test MAE",
      paper=reproduction.paper_number("graphormer", "benchmarking_gnns", model="Graphormer-Slim", dataset="ZINC"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=experiment_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=experiment_config.get_config, train=train_or_load, manual_dir=True,
  )


if __name__ == "__main__":
  main()
