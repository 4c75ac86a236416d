"""The CSL experiment: every smoke variant trains end to end; reproduce's bookkeeping."""

from __future__ import annotations

import json

import pytest

from experiments.benchmarking_gnns_csl import config as csl_config
from experiments.benchmarking_gnns_csl import reproduce
from research.analysis import reproduction
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


def test_every_variant_has_its_paper_number():
  for name, _, _, table, match in reproduce.VARIANTS:
    if table is not None:
      number = reproduction.paper_number("benchmarking_gnns", table, **match)
      assert number.std >= 0, name


def test_results_files(tmp_path):
  paper = reproduction.PaperNumber(99.6, 1.083, "Table 10")
  rows = [reproduction.Row("A", "acc", [100.0, 98.0], paper), reproduction.Row("B", "acc", [90.0, 90.0], paper),
          reproduction.Row("C", "acc", [97.0], None)]
  text = reproduction.write_results(str(tmp_path), "x", True, rows, "# header")
  data = json.loads((tmp_path / "results.json").read_text())
  assert data["experiment"] == "x" and data["quick"] is True
  assert [r["within_paper_spread"] for r in data["rows"]] == [True, False, None]
  assert data["rows"][0]["measured_mean"] == 99.0 and data["rows"][0]["measured_std"] == 1.0
  assert "| A | acc | 99.000 ± 1.000 | 2 | 99.600 ± 1.083 | yes |" in text


def test_sweep_covers_folds_and_paper_seeds():
  sweep = csl_config.get_sweep()
  assert len(sweep) == 5 * 20
  assert {s["data.fold"] for s in sweep} == set(range(5))
