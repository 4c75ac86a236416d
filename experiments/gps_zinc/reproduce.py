"""Reproduce GraphGPS's ZINC result (Table 2 of Rampášek et al., NeurIPS 2022).

    python -m experiments.gps_zinc.reproduce            # paper protocol: 10 seeds × 2000 epochs
    python -m experiments.gps_zinc.reproduce --quick    # 1 seed, a shortened schedule (CPU)

Each run reports the test MAE at the epoch with the best validation MAE, as
GraphGPS does. ZINC is read from molecules.zip in --manual_dir (default
<data_dir>/downloads/manual). Writes OUT/results.md and OUT/results.json (OUT
defaults to runs/gps_zinc/reproduce); a rerun skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from experiments.gps_zinc import config as gps_config
from research.analysis import reproduction
from research.train import train_or_load

EXPERIMENT = "gps_zinc"
QUICK_SEEDS = gps_config.PAPER_SEEDS[:1]
QUICK_EPOCHS = 20
QUICK_WARMUP_EPOCHS = 1


def main(argv: Sequence[str] | None = None) -> str:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true",
                      help=f"{len(QUICK_SEEDS)} seed, {QUICK_EPOCHS} epochs ({QUICK_WARMUP_EPOCHS} of warmup)")
  parser.add_argument("--out", default=os.path.join("runs", EXPERIMENT, "reproduce"))
  parser.add_argument("--seeds", type=int, default=len(gps_config.PAPER_SEEDS),
                      help="use the first N of the paper's 10 seeds (paper protocol only)")
  parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
  parser.add_argument("--data_dir", default="", help="TFDS data dir (default $TFDS_DATA_DIR or ~/tensorflow_datasets)")
  parser.add_argument("--manual_dir", default="", help="folder holding molecules.zip (default <data_dir>/downloads/manual)")
  args = parser.parse_args(argv)

  seeds = QUICK_SEEDS if args.quick else gps_config.PAPER_SEEDS[: args.seeds]
  epochs, warmup = (QUICK_EPOCHS, QUICK_WARMUP_EPOCHS) if args.quick else (2000, 50)
  from research.data import zinc  # build the dataset once, before the workers read it

  data_dir = args.data_dir or os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))
  zinc.prepare(data_dir, "subset", manual_dir=args.manual_dir or None)
  runs = []
  for seed in seeds:
    config = gps_config.get_config(f"seed={seed},epochs={epochs},warmup_epochs={warmup}")
    config.data.data_dir, config.data.manual_dir = data_dir, args.manual_dir
    runs.append((seed, config, os.path.join(args.out, "runs", f"seed{seed}")))
  protocol = reproduction.SeedProtocol(
      experiment=EXPERIMENT,
      row="GPS (GINE + Transformer, RWSE)",
      metric="test/mae",
      label="test MAE",
      paper=reproduction.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="ZINC"),
  )
  description = f"quick: {len(seeds)} seed, {epochs} epochs" if args.quick else f"paper protocol: {len(seeds)} seed(s) × 2000 epochs"
  return reproduction.reproduce_over_seeds(
      protocol, runs, train_or_load, out_dir=args.out, quick=args.quick, parallel=args.parallel, description=description
  )


if __name__ == "__main__":
  main()
