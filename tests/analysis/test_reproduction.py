"""The shared reproduce machinery: runs over seeds in worker processes, skips finished runs, writes results."""

from __future__ import annotations

import json

from experiments.benchmarking_gnns_csl import config as csl_config
from research.analysis import reproduction
from research.train import train_or_load


def test_reproduce_over_seeds_writes_results_and_skips_finished_runs(csl_data_dir, tmp_path, capsys):
  runs = []
  for seed in (1, 2):
    config = csl_config.get_config(f"smoke,seed={seed}")
    config.data.data_dir = csl_data_dir
    runs.append((seed, config, str(tmp_path / "runs" / f"seed{seed}")))
  protocol = reproduction.SeedProtocol(
      experiment="csl_smoke", row="GatedGCN", metric="test/accuracy", label="test accuracy (%)", scale=100.0, at="final",
      paper=reproduction.PaperNumber(10.0, 0.0, "Table 13"),
  )
  kwargs = dict(out_dir=str(tmp_path), quick=True, parallel=2, description="smoke")
  text = reproduction.reproduce_over_seeds(protocol, runs, train_or_load, **kwargs)
  results = json.loads((tmp_path / "results.json").read_text())
  (row,) = results["rows"]
  assert row["n"] == 2 and row["paper_mean"] == 10.0 and 0.0 <= row["measured_mean"] <= 100.0
  assert "| GatedGCN | test accuracy (%) |" in text
  finals = [json.loads((tmp_path / "runs" / f"seed{s}" / "final.json").read_text()) for s in (1, 2)]
  assert row["measured_mean"] == sum(100.0 * f["final"]["test/accuracy"] for f in finals) / 2

  stamps = [(tmp_path / "runs" / f"seed{s}" / "final.json").stat().st_mtime_ns for s in (1, 2)]
  reproduction.reproduce_over_seeds(protocol, runs, train_or_load, **kwargs)  # both runs are finished
  assert [(tmp_path / "runs" / f"seed{s}" / "final.json").stat().st_mtime_ns for s in (1, 2)] == stamps
  assert json.loads((tmp_path / "results.json").read_text())["rows"] == results["rows"]
  assert "[2/2] seed" in capsys.readouterr().out
