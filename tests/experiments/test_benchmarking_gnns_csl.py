"""The CSL experiment: every smoke variant trains end to end; the paper's parameter counts and protocol."""

from __future__ import annotations

import json

import pytest

from experiments.benchmarking_gnns_csl import config as csl_config
from research.train import train_and_evaluate


@pytest.mark.parametrize("model, pe", [("gated_gcn", "none"), ("gt", "lap")])
def test_smoke_config_trains_end_to_end(model, pe, csl_data_dir, tmp_path):
  config = csl_config.get_config(f"smoke,model={model},pe={pe}")
  config.data.data_dir = csl_data_dir
  final = train_and_evaluate(config, str(tmp_path))
  assert final["step"] == config.total_steps
  assert 0.0 <= final["final"]["test/accuracy"] <= 1.0
  for name in ("config.json", "metrics.jsonl", "diagnostics.jsonl", "final.json"):
    assert (tmp_path / name).exists(), name
  assert json.loads((tmp_path / "config.json").read_text())["model"]["name"] == model
  assert list((tmp_path / "tb").iterdir()), "TensorBoard events expected"


def test_paper_parameter_counts():
  """GatedGCN 4×70 has the parameter counts of Benchmarking GNNs Tables 10 and 13."""
  from flax import nnx

  from research import models

  nnx.use_eager_sharding(False)
  for pe, expected in (("lap", 105407), ("none", 104007)):
    kwargs = {k: v for k, v in csl_config.model_config("gated_gcn", pe, smoke=False).items() if k != "name"}
    model = nnx.eval_shape(lambda: models.build_model("gated_gcn", rngs=nnx.Rngs(0), **kwargs))
    count = sum(x.size for x in __import__("jax").tree.leaves(nnx.state(model, nnx.Param)))
    assert count == expected, (pe, count)


def test_rows_have_the_papers_numbers():
  rows = {row["name"]: row for row in csl_config.get_protocol()["rows"]}
  assert list(rows) == ["GatedGCN", "GatedGCN + LapPE", "GT + LapPE"]
  assert (rows["GatedGCN"]["table"], rows["GatedGCN + LapPE"]["table"], rows["GT + LapPE"]["table"]) == (
    "csl_pe_study",
    "csl",
    "",
  )


def test_sweep_covers_folds_and_paper_seeds():
  sweep = csl_config.get_sweep()
  assert len(sweep) == 5 * 20
  assert {s["data.fold"] for s in sweep} == set(range(5))
