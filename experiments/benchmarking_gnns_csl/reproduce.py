"""Reproduce the CSL table of Benchmarking GNNs (Table 10; GatedGCN without PE from Table 13).

    python -m experiments.benchmarking_gnns_csl.reproduce            # paper protocol: 5 folds × 20 seeds
    python -m experiments.benchmarking_gnns_csl.reproduce --quick    # 5 folds × 1 seed, capped epochs (CPU)

Each run trains the last-epoch model of the paper's protocol and tests it. Writes
OUT/results.md and OUT/results.json (OUT defaults to runs/benchmarking_gnns_csl/reproduce)
and keeps every run directory under OUT/runs/.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence

from experiments.benchmarking_gnns_csl import config as csl_config
from research.analysis import reproduction
from research.sweep import workers

EXPERIMENT = "benchmarking_gnns_csl"
# (row name, model, pe, paper table, paper row match)
VARIANTS = (
    ("GatedGCN", "gated_gcn", "none", "csl_pe_study", {"model": "GatedGCN", "pe": "none"}),
    ("GatedGCN + LapPE", "gated_gcn", "lap", "csl", {"model": "GatedGCN", "pe": "laplacian_20"}),
    ("GT + LapPE", "gt", "lap", None, None),
)
QUICK_SEEDS = csl_config.PAPER_SEEDS[:1]
QUICK_MAX_EPOCHS = 100  # the paper's GatedGCN-LapPE runs stopped after 147 epochs on average


def run_one(model: str, pe: str, fold: int, seed: int, epochs: int, out_dir: str, data_dir: str) -> dict:
  """One training run (in a worker process); returns its final.json contents.

  A run that already finished is not repeated; an interrupted one resumes."""
  from research.train import train_or_load

  config = csl_config.get_config(f"model={model},pe={pe},fold={fold},seed={seed},epochs={epochs}")
  config.data.data_dir = data_dir
  return train_or_load(config, os.path.join(out_dir, "runs", f"{model}_{pe}", f"fold{fold}_seed{seed}"), quiet=True)


def main(argv: Sequence[str] | None = None) -> str:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true", help="1 seed per fold and at most %d epochs" % QUICK_MAX_EPOCHS)
  parser.add_argument("--out", default=os.path.join("runs", EXPERIMENT, "reproduce"))
  parser.add_argument("--seeds", type=int, default=len(csl_config.PAPER_SEEDS),
                      help="use the first N of the paper's 20 seeds (paper protocol only)")
  parser.add_argument("--parallel", type=int, default=max(1, min(2, os.cpu_count() or 1)), help="runs at a time")
  parser.add_argument("--data_dir", default="", help="TFDS data dir (default $TFDS_DATA_DIR or ~/tensorflow_datasets)")
  args = parser.parse_args(argv)

  seeds = QUICK_SEEDS if args.quick else csl_config.PAPER_SEEDS[: args.seeds]
  epochs = QUICK_MAX_EPOCHS if args.quick else 1000
  jobs = [(name, model, pe, fold, seed) for name, model, pe, *_ in VARIANTS
          for fold in range(csl_config.NUM_FOLDS) for seed in seeds]
  print(f"CSL reproduction ({'quick' if args.quick else 'paper protocol'}): {len(jobs)} runs, {args.parallel} at a time, "
        f"at most {epochs} epochs each; run directories under {os.path.join(args.out, 'runs')}")
  from research.data import csl  # build the dataset once, before the workers read it

  data_dir = args.data_dir or os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))
  csl.prepare(data_dir)

  accuracies: dict[str, list[float]] = {name: [] for name, *_ in VARIANTS}
  start = time.time()
  names = {(model, pe): name for name, model, pe, *_ in VARIANTS}
  run_jobs = [(model, pe, fold, seed, epochs, args.out, data_dir) for _, model, pe, fold, seed in jobs]
  for done, (job, final) in enumerate(workers.run_in_workers(run_one, run_jobs, args.parallel), 1):
    model, pe, fold, seed = job[:4]
    name = names[(model, pe)]
    accuracy = 100.0 * final["final"]["test/accuracy"]
    accuracies[name].append(accuracy)
    epochs_run = final["step"] / (final["total_steps"] / epochs)
    remaining = workers.eta(done, len(jobs), time.time() - start)
    print(f"[{done}/{len(jobs)}] {name:<17} fold {fold} seed {seed}: test {accuracy:6.2f}%  "
          f"({epochs_run:.0f} epochs, {final['wall_time_s']:.0f} s)  ETA {remaining}",
          flush=True)

  rows = []
  for name, _, _, table, match in VARIANTS:
    paper = reproduction.paper_number("benchmarking_gnns", table, **match) if table else None
    rows.append(reproduction.Row(name, "test accuracy (%)", accuracies[name], paper))
  header = (
      f"# CSL reproduction ({'quick: ' + str(len(seeds)) + ' seed(s) × 5 folds, ≤ ' + str(epochs) + ' epochs' if args.quick else f'paper protocol: {len(seeds)} seed(s) × 5 folds'})\n\n"
      f"Last-epoch model on each fold's 30 test graphs; {time.time() - start:.0f} s in all."
  )
  text = reproduction.write_results(args.out, EXPERIMENT, args.quick, rows, header)
  print("\n" + text)
  return text


if __name__ == "__main__":
  main()
