"""Reproduce Exphormer's CLUSTER result (Shirzad et al., ICML 2023; papers/exphormer.yaml).

    python -m experiments.exphormer_cluster.reproduce            # 10 seeds × 150 epochs
    python -m experiments.exphormer_cluster.reproduce --quick    # 1 seed, a shortened schedule

Each run reports the class-averaged test accuracy at the best-validation epoch,
as the official GraphGPS-based code does. Writes OUT/results.md and
OUT/results.json (OUT defaults to runs/exphormer_cluster/reproduce) and keeps
every run directory under OUT/runs/; a rerun skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.exphormer_cluster import config as experiment_config
from research.analysis import reproduction
from research.train import train_or_load

SCHEDULE = reproduction.Schedule(epochs=150, warmup_epochs=5, quick_epochs=12, quick_warmup_epochs=1)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="exphormer_cluster",
      row="Exphormer (GatedGCN + Exphormer attention, ESLapPE)",
      metric="test/accuracy_sbm",
      label="test accuracy, class-averaged (%)",
      scale=100.0,
      paper=reproduction.paper_number("exphormer", "benchmarking_gnns", model="Exphormer", dataset="CLUSTER"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=experiment_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=experiment_config.get_config, train=train_or_load,
  )


if __name__ == "__main__":
  main()
