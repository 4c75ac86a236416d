"""Reproduce the Graph Transformer's PATTERN result (Dwivedi & Bresson, DLG-AAAI'21, Table 1; papers/gt.yaml).

    python -m experiments.gt_pattern.reproduce            # 4 seeds, until lr < 1e-6 (at most 1000 epochs)
    python -m experiments.gt_pattern.reproduce --quick    # 1 seed, at most 10 epochs

Each run reports the class-averaged test accuracy of its last model, as the
official code does (it tests the model of the epoch at which the learning rate
fell below min_lr). Writes OUT/results.md and OUT/results.json (OUT defaults to
runs/gt_pattern/reproduce) and keeps every run directory under OUT/runs/; a
rerun skips finished runs and resumes interrupted ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments.gt_pattern import config as experiment_config
from research.analysis import reproduction
from research.train import train_or_load

# 1000 epochs is the cap; the plateau schedule ends a run when the rate falls below 1e-6. No warmup.
SCHEDULE = reproduction.Schedule(epochs=1000, warmup_epochs=0, quick_epochs=10, quick_warmup_epochs=0)


def main(argv: Sequence[str] | None = None) -> str:
  protocol = reproduction.SeedProtocol(
      experiment="gt_pattern",
      row="GT (sparse graph, BatchNorm, LapPE)",
      metric="test/accuracy_sbm",
      label="test accuracy, class-averaged (%)",
      scale=100.0,
      at="final",
      paper=reproduction.paper_number("gt", "benchmarking_gnns", model="GT", dataset="PATTERN"),
  )
  return reproduction.seeds_main(
      argv, doc=__doc__, protocol=protocol, paper_seeds=experiment_config.PAPER_SEEDS, schedule=SCHEDULE,
      get_config=experiment_config.get_config, train=train_or_load,
  )


if __name__ == "__main__":
  main()
