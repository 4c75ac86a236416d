"""Reproduce GraphGPS's PATTERN result (Table 2 of Rampášek et al., NeurIPS 2022).

    python -m experiments.gps_pattern.reproduce            # paper protocol: 10 seeds × 100 epochs
    python -m experiments.gps_pattern.reproduce --quick    # 1 seed, a shortened schedule (CPU)

Each run reports the class-averaged test accuracy of the epoch with the best
validation accuracy, as GraphGPS does. Writes OUT/results.md and
OUT/results.json (OUT defaults to runs/gps_pattern/reproduce) and keeps every
run directory under OUT/runs/; a rerun skips finished runs and resumes
interrupted ones.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Sequence

from experiments.gps_pattern import config as gps_config
from research.analysis import reproduction

EXPERIMENT = "gps_pattern"
QUICK_SEEDS = gps_config.PAPER_SEEDS[:1]
QUICK_EPOCHS = 12
QUICK_WARMUP_EPOCHS = 1


def run_one(seed: int, epochs: int, warmup_epochs: int, out_dir: str, data_dir: str) -> dict:
  """One training run (in a worker process); returns its final.json contents."""
  workdir = os.path.join(out_dir, "runs", f"seed{seed}")

  def train() -> dict:
    from research.train import train_and_evaluate

    logging.getLogger("research.train").setLevel(logging.WARNING)
    config = gps_config.get_config(f"seed={seed},epochs={epochs},warmup_epochs={warmup_epochs}")
    config.data.data_dir = data_dir
    return train_and_evaluate(config, workdir)

  return reproduction.load_or_train(workdir, train)


def main(argv: Sequence[str] | None = None) -> str:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true",
                      help=f"{len(QUICK_SEEDS)} seed, {QUICK_EPOCHS} epochs ({QUICK_WARMUP_EPOCHS} of warmup)")
  parser.add_argument("--out", default=os.path.join("runs", EXPERIMENT, "reproduce"))
  parser.add_argument("--seeds", type=int, default=len(gps_config.PAPER_SEEDS),
                      help="use the first N of the paper's 10 seeds (paper protocol only)")
  parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
  parser.add_argument("--data_dir", default="", help="TFDS data dir (default $TFDS_DATA_DIR or ~/tensorflow_datasets)")
  args = parser.parse_args(argv)

  seeds = QUICK_SEEDS if args.quick else gps_config.PAPER_SEEDS[: args.seeds]
  epochs, warmup = (QUICK_EPOCHS, QUICK_WARMUP_EPOCHS) if args.quick else (100, 5)
  print(f"GPS on PATTERN ({'quick' if args.quick else 'paper protocol'}): {len(seeds)} run(s) of {epochs} epochs, "
        f"{args.parallel} at a time; run directories under {os.path.join(args.out, 'runs')}", flush=True)
  from research.data import sbm  # build the dataset once, before the workers read it

  data_dir = args.data_dir or os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))
  sbm.prepare(data_dir, "pattern", "full")

  accuracies = []
  start = time.time()
  jobs = [(seed, epochs, warmup, args.out, data_dir) for seed in seeds]
  for done, (job, final) in enumerate(reproduction.run_in_workers(run_one, jobs, args.parallel), 1):
    best = final["best"]
    accuracy = 100.0 * best["test/accuracy_sbm"]
    accuracies.append(accuracy)
    print(f"[{done}/{len(jobs)}] seed {job[0]}: test {accuracy:.3f}% at the best validation epoch "
          f"(step {best['step']}, validation {100.0 * best['validation/accuracy_sbm']:.3f}%; "
          f"{final['wall_time_s']:.0f} s)  ETA {reproduction.eta(done, len(jobs), time.time() - start)}", flush=True)

  paper = reproduction.paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="PATTERN")
  rows = [reproduction.Row("GPS (GatedGCN + Transformer, LapPE)", "test accuracy, class-averaged (%)", accuracies, paper)]
  protocol = f"quick: {len(seeds)} seed, {epochs} epochs" if args.quick else f"paper protocol: {len(seeds)} seed(s) × 100 epochs"
  header = (
      f"# GPS on PATTERN ({protocol})\n\n"
      f"Test score at the best-validation epoch; {time.time() - start:.0f} s in all."
  )
  text = reproduction.write_results(args.out, EXPERIMENT, args.quick, rows, header)
  print("\n" + text)
  return text


if __name__ == "__main__":
  main()
