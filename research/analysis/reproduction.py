"""Shared machinery of the `reproduce.py` scripts: run a protocol, aggregate, compare with papers/."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import yaml

from research.sweep.workers import eta, run_in_workers

PAPERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "papers")


@dataclasses.dataclass(frozen=True)
class PaperNumber:
  mean: float
  std: float
  source: str


def paper_number(paper: str, table: str, **match: Any) -> PaperNumber:
  """The row of `papers/<paper>.yaml` table `table` whose fields equal `match`."""
  with open(os.path.join(PAPERS_DIR, f"{paper}.yaml")) as f:
    tables = yaml.safe_load(f)["tables"]
  rows = [r for r in tables[table]["rows"] if all(r.get(k) == v for k, v in match.items())]
  if len(rows) != 1:
    raise KeyError(f"papers/{paper}.yaml table {table!r}: {len(rows)} rows match {match}, expected 1.")
  return PaperNumber(float(rows[0]["mean"]), float(rows[0]["std"]), tables[table]["source"])


@dataclasses.dataclass
class Row:
  """One line of results.md / results.json."""

  name: str
  metric: str
  values: list[float]
  paper: PaperNumber | None = None

  @property
  def mean(self) -> float:
    return float(np.mean(self.values))

  @property
  def std(self) -> float:
    return float(np.std(self.values))  # population std (ddof=0), as the papers' scripts compute it

  @property
  def within_paper_spread(self) -> bool | None:
    """|measured mean - paper mean| <= paper std (a paper std of 0 asks for the same mean)."""
    if self.paper is None:
      return None
    return abs(self.mean - self.paper.mean) <= self.paper.std + 1e-6

  def to_json(self) -> dict[str, Any]:
    return {
        "name": self.name,
        "metric": self.metric,
        "measured_mean": self.mean,
        "measured_std": self.std,
        "n": len(self.values),
        "paper_mean": self.paper.mean if self.paper else None,
        "paper_std": self.paper.std if self.paper else None,
        "within_paper_spread": self.within_paper_spread,
    }


def markdown_table(rows: Sequence[Row]) -> str:
  lines = [
      "| model | metric | measured (mean ± std) | n | paper | within paper spread |",
      "|---|---|---|---|---|---|",
  ]
  for r in rows:
    paper = f"{r.paper.mean:.3f} ± {r.paper.std:.3f}" if r.paper else "not reported"
    within = {None: "–", True: "yes", False: "no"}[r.within_paper_spread]
    lines.append(f"| {r.name} | {r.metric} | {r.mean:.3f} ± {r.std:.3f} | {len(r.values)} | {paper} | {within} |")
  return "\n".join(lines)


def write_results(out_dir: str, experiment: str, quick: bool, rows: Sequence[Row], header: str) -> str:
  """Writes results.json and results.md; returns the markdown."""
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "results.json"), "w") as f:
    json.dump({"experiment": experiment, "quick": quick, "rows": [r.to_json() for r in rows]}, f, indent=2)
  sources = sorted({r.paper.source for r in rows if r.paper})
  text = "\n\n".join([header, markdown_table(rows), "Paper numbers: " + "; ".join(sources) + "."]) + "\n"
  with open(os.path.join(out_dir, "results.md"), "w") as f:
    f.write(text)
  return text


@dataclasses.dataclass(frozen=True)
class SeedProtocol:
  """A table row measured over seeds: one run per seed, one metric read from each final.json.

  `metric` names a key of final.json's "best" block (the evaluation at the best
  validation step, as GraphGPS and its forks report) or, with `at="final"`, of
  its "final" block (the last model, as Benchmarking GNNs reports).
  """

  experiment: str
  row: str
  metric: str  # e.g. "test/accuracy_sbm"
  label: str  # e.g. "test accuracy, class-averaged (%)"
  scale: float = 1.0  # e.g. 100 for percentages
  at: str = "best"
  paper: PaperNumber | None = None


def reproduce_over_seeds(
    protocol: SeedProtocol,
    runs: Sequence[tuple[int, Any, str]],
    train: Callable[[Any, str, bool], dict],
    *,
    out_dir: str,
    quick: bool,
    parallel: int,
    description: str,
) -> str:
  """Runs (seed, config, workdir) with `train(config, workdir, quiet)` in worker processes,
  prints each result with an ETA, and writes results.md / results.json; returns the markdown."""
  print(f"{protocol.experiment} ({description}): {len(runs)} run(s), {parallel} at a time; "
        f"run directories under {os.path.dirname(runs[0][2])}", flush=True)
  values, start = [], time.time()
  jobs = [(config, workdir, True) for _, config, workdir in runs]
  seeds = {workdir: seed for seed, _, workdir in runs}
  for done, (job, final) in enumerate(run_in_workers(train, jobs, parallel), 1):
    block = final[protocol.at]
    value = protocol.scale * block[protocol.metric]
    values.append(value)
    where = f"at step {block['step']}" if protocol.at == "best" else f"after {final['step']} steps"
    print(f"[{done}/{len(runs)}] seed {seeds[job[1]]}: {protocol.metric} = {value:.4f} {where} "
          f"({final['wall_time_s']:.0f} s)  ETA {eta(done, len(runs), time.time() - start)}", flush=True)
  row = Row(protocol.row, protocol.label, values, protocol.paper)
  checkpoint = "the best-validation step" if protocol.at == "best" else "the last step"
  header = (f"# {protocol.experiment} ({description})\n\n"
            f"{protocol.metric} at {checkpoint} of each run; {time.time() - start:.0f} s in all.")
  text = write_results(out_dir, protocol.experiment, quick, [row], header)
  print("\n" + text)
  return text


@dataclasses.dataclass(frozen=True)
class Schedule:
  """Epochs of a protocol: the paper's, and the shortened one of --quick."""

  epochs: int
  warmup_epochs: int
  quick_epochs: int
  quick_warmup_epochs: int


def seeds_main(
    argv: Sequence[str] | None,
    *,
    doc: str,
    protocol: SeedProtocol,
    paper_seeds: Sequence[int],
    schedule: Schedule,
    get_config: Callable[[str], Any],
    train: Callable[[Any, str, bool], dict],
    manual_dir: bool = False,
    prepare: Callable[[Any], None] | None = None,
) -> str:
  """The command line of a reproduce.py whose protocol is one run per seed (see SeedProtocol).

  `get_config("seed=S,epochs=E,warmup_epochs=W")` gives a run's config; the
  dataset it names is built once before the workers start, by
  `prepare(config.data)` (default: research.data.prepare_dataset); `train` is
  research.train.train_or_load.
  """
  parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
  parser.add_argument("--quick", action="store_true",
                      help=f"1 seed, {schedule.quick_epochs} epochs ({schedule.quick_warmup_epochs} of warmup)")
  parser.add_argument("--out", default=os.path.join("runs", protocol.experiment, "reproduce"))
  parser.add_argument("--seeds", type=int, default=len(paper_seeds),
                      help=f"use the first N of the paper's {len(paper_seeds)} seeds (paper protocol only)")
  parser.add_argument("--parallel", type=int, default=1, help="runs at a time")
  parser.add_argument("--data_dir", default="", help="TFDS data dir (default $TFDS_DATA_DIR or ~/tensorflow_datasets)")
  if manual_dir:
    parser.add_argument("--manual_dir", default="", help="folder holding the released files (default <data_dir>/downloads/manual)")
  args = parser.parse_args(argv)

  seeds = list(paper_seeds[:1]) if args.quick else list(paper_seeds[: args.seeds])
  epochs, warmup = ((schedule.quick_epochs, schedule.quick_warmup_epochs) if args.quick
                    else (schedule.epochs, schedule.warmup_epochs))
  data_dir = args.data_dir or os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))
  runs = []
  for seed in seeds:
    config = get_config(f"seed={seed},epochs={epochs},warmup_epochs={warmup}")
    config.data.data_dir = data_dir
    if manual_dir:
      config.data.manual_dir = args.manual_dir
    runs.append((seed, config, os.path.join(args.out, "runs", f"seed{seed}")))
  if prepare is None:
    from research import data

    prepare = data.prepare_dataset
  prepare(runs[0][1].data)
  description = (f"quick: 1 seed, {epochs} epochs" if args.quick
                 else f"paper protocol: {len(seeds)} seed(s) × {epochs} epochs")
  return reproduce_over_seeds(protocol, runs, train, out_dir=args.out, quick=args.quick, parallel=args.parallel,
                              description=description)
