"""The benchmark scripts run end to end at tiny sizes and print their tables."""

from __future__ import annotations

from benchmarks import attention_scaling, grit_rrwp_cost


def test_attention_scaling_prints_a_row_per_size(capsys):
  attention_scaling.main(["--sizes=16,32", "--total_nodes=64", "--steps=1"])
  rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 16 ") or line.startswith("| 32 ")]
  assert len(rows) == 2 and all("skipped" not in row for row in rows)


def test_grit_rrwp_cost_prints_both_times_and_the_storage(capsys):
  grit_rrwp_cost.main(["--graphs=1", "--steps=1", "--sample=5"])
  out = capsys.readouterr().out
  assert "rrwp_dense on the batch:" in out
  assert "GRIT training step on the batch:" in out and "RRWP inside:" in out
  assert "GB (float32, [n, n, 21] per graph)" in out
