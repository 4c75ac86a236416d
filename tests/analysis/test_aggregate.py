"""research.analysis.aggregate: hand-worked means and stds (ddof=1) over seeds, ablation tables, and a real run."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from sweep_dirs import train, write_jsonl, write_run, write_sweep

from configs import sweeps
from research.analysis import aggregate, runs

# best/test/accuracy_sbm and final/test/loss per (pe, seed); seed 4 of "none" is interrupted, of "rwse" not started.
ACCURACY = {
  ("none", 1): 0.80,
  ("none", 2): 0.82,
  ("none", 3): 0.84,
  ("rwse", 1): 0.90,
  ("rwse", 2): 0.93,
  ("rwse", 3): 0.96,
}
LOSS = {("none", 1): 0.5, ("none", 2): 0.4, ("none", 3): 0.6, ("rwse", 1): 0.3, ("rwse", 2): 0.3, ("rwse", 3): 0.3}


@pytest.fixture
def ablation(tmp_path) -> pd.DataFrame:
  sweep = write_sweep(tmp_path, sweeps.product({"model.pe": ["none", "rwse"], "seed": [1, 2, 3, 4]}))
  for run in sweep.runs:
    key = (run.overrides["model.pe"], run.overrides["seed"])
    config = {"seed": key[1], "model": {"pe": key[0]}}
    if key in ACCURACY:
      write_run(
        sweep.workdir(run),
        config=config,
        final={"test/loss": LOSS[key]},
        best={"step": 10, "test/accuracy_sbm": ACCURACY[key]},
      )
    elif key == ("none", 4):
      write_run(sweep.workdir(run), config=config, metrics=[{"step": 5, "train/loss": 9.0}])
  return runs.load_sweep(tmp_path)


def test_mean_std_and_count_over_seeds(ablation):
  assert ablation["status"].tolist() == ["finished"] * 3 + ["incomplete"] + ["finished"] * 3 + ["not started"]
  stats = aggregate.aggregate(ablation, ["best/test/accuracy_sbm", "final/test/loss"])
  assert stats.index.name == "model.pe" and stats.index.tolist() == ["none", "rwse"]
  accuracy = stats["best/test/accuracy_sbm"]
  assert accuracy.columns.tolist() == ["mean", "std", "count"]
  assert accuracy["mean"].tolist() == pytest.approx([0.82, 0.93])
  assert accuracy["std"].tolist() == pytest.approx([0.02, 0.03])  # ddof=1: sqrt((0.02² + 0² + 0.02²) / 2)
  assert accuracy["count"].tolist() == [3, 3]
  assert stats["final/test/loss"]["std"].tolist() == pytest.approx([0.1, 0.0])
  population = aggregate.aggregate(ablation, "best/test/accuracy_sbm", ddof=0)
  assert population["best/test/accuracy_sbm"]["std"]["none"] == pytest.approx(math.sqrt(0.0008 / 3))


def test_ablation_table_in_markdown_marks_the_best_variant(ablation):
  table = aggregate.ablation_table(ablation, "best/test/accuracy_sbm", scale=100)
  assert table == (
    "| model.pe | best/test/accuracy_sbm (×100) |\n"
    "|---|---|\n"
    "| none | 82.00 ± 2.00 (3) |\n"
    "| rwse | **93.00 ± 3.00 (3)** |\n"
    "\n"
    "mean ± std over runs (std with ddof=1), (n) runs per variant; best variant in bold.\n"
  )
  assert table._repr_markdown_() == table


def test_a_loss_is_best_lowest_and_each_metric_gets_its_column(ablation):
  table = aggregate.ablation_table(ablation, ["final/test/loss", "best/test/accuracy_sbm"], digits=3)
  assert "| none | 0.500 ± 0.100 (3) | 0.820 ± 0.020 (3) |" in table
  assert "| rwse | **0.300 ± 0.000 (3)** | **0.930 ± 0.030 (3)** |" in table
  flipped = aggregate.ablation_table(ablation, "final/test/loss", higher_is_better=True)
  assert "| **0.50 ± 0.10 (3)** |" in flipped


def test_ablation_table_in_latex(ablation):
  table = aggregate.ablation_table(ablation, "best/test/accuracy_sbm", scale=100, latex=True)
  assert table.splitlines() == [
    r"\begin{tabular}{lr}",
    r"\toprule",
    r"model.pe & best/test/accuracy\_sbm ($\times$100) \\",
    r"\midrule",
    r"none & 82.00 $\pm$ 2.00 (3) \\",
    r"rwse & \textbf{93.00 $\pm$ 3.00 (3)} \\",
    r"\bottomrule",
    r"\end{tabular}",
    "% mean ± std over runs (std with ddof=1), (n) runs per variant; best variant in bold.",
  ]


def test_replicate_keys_are_configurable(tmp_path):
  values = {(0, 1): 1.0, (0, 2): 3.0, (1, 1): 5.0, (1, 2): 9.0}
  sweep = write_sweep(tmp_path, sweeps.product({"data.fold": [0, 1], "seed": [1, 2]}))
  for run in sweep.runs:
    key = (run.overrides["data.fold"], run.overrides["seed"])
    write_run(sweep.workdir(run), config={}, final={"test/mae": values[key]})
  frame = runs.load_sweep(tmp_path)
  over_all = aggregate.aggregate(frame, "final/test/mae")  # seed and data.fold are both replicates
  assert over_all.index.tolist() == ["all"] and over_all[("final/test/mae", "mean")].item() == 4.5
  assert over_all[("final/test/mae", "count")].item() == 4
  per_fold = aggregate.aggregate(frame, "final/test/mae", replicate_keys=["seed"])
  assert per_fold[("final/test/mae", "mean")].tolist() == [2.0, 7.0]
  assert per_fold[("final/test/mae", "std")].tolist() == pytest.approx([math.sqrt(2), math.sqrt(8)])
  table = aggregate.ablation_table(frame, "final/test/mae", by=["data.fold"])
  assert "| 0 | **2.00 ± 1.41 (2)** |" in table and "| 1 | 7.00 ± 2.83 (2) |" in table  # mae: lower is better


def test_unknown_metric_and_unknown_variant_columns_are_named(ablation):
  with pytest.raises(
    ValueError,
    match=r"No column \['best/test/acc'\] in the frame; metric columns: \["
    r"'final/test/loss', 'best/step', 'best/test/accuracy_sbm'\].*"
    r"run statuses: \{'finished': 6, 'incomplete': 1, 'not started': 1\}",
  ):
    aggregate.aggregate(ablation, "best/test/acc")
  with pytest.raises(ValueError, match=r"No column \['model.layers'\] in the frame"):
    aggregate.aggregate(ablation, "final/test/loss", by=["model.layers"])
  stacked = pd.concat([ablation, ablation.iloc[:2]])
  stacked.attrs = {}
  with pytest.raises(ValueError, match=r"pass by=\[...\] naming the columns of a variant"):
    aggregate.aggregate(stacked, "final/test/loss")


def test_a_real_run_with_one_seed_aggregates_to_its_own_value(tmp_path, csl_data_dir):
  sweep = write_sweep(tmp_path, sweeps.product({"seed": [1, 2]}))
  train(sweep, sweep.runs[:1], csl_data_dir)
  frame = runs.load_sweep(tmp_path)
  final = json.loads((tmp_path / "runs" / "seed=1" / "final.json").read_text())
  stats = aggregate.aggregate(frame, "best/test/accuracy")
  assert stats[("best/test/accuracy", "mean")].item() == final["best"]["test/accuracy"]
  assert stats[("best/test/accuracy", "count")].item() == 1 and math.isnan(stats[("best/test/accuracy", "std")].item())
  value = 100 * final["best"]["test/accuracy"]
  assert f"| all | **{value:.2f} ± – (1)** |" in aggregate.ablation_table(frame, "best/test/accuracy", scale=100)


def test_component_effect_of_one_ablation_against_hand_worked_welch_test(ablation):
  (row,) = aggregate.component_effects(ablation, "best/test/accuracy_sbm").to_dict("records")
  assert (row["component"], row["values"], row["best"], row["worst"]) == ("model.pe", 2, "rwse", "none")
  assert row["effect"] == pytest.approx(0.11)
  pooled = math.sqrt((0.0004 + 0.0009) / 2)  # within-variant variances (ddof=1) of none and rwse
  assert row["replicate_std"] == pytest.approx(pooled) and row["effect_in_stds"] == pytest.approx(0.11 / pooled)
  se2 = (0.0004 / 3, 0.0009 / 3)
  t = 0.11 / math.sqrt(sum(se2))
  dof = sum(se2) ** 2 / sum(v**2 / 2 for v in se2)  # Welch–Satterthwaite
  from scipy import stats

  assert row["p_value"] == pytest.approx(2 * stats.t.sf(t, dof))


def test_component_effects_rank_the_component_that_moves_the_metric_first():
  # The loss drops by 1.0 with pe=rwse and moves by 0.1 with the norm; seeds add ±0.05.
  rows = [
    {
      "model.pe": pe,
      "model.norm": norm,
      "seed": seed,
      "final/test/loss": 2.0 - (pe == "rwse") - 0.1 * (norm == "ln") + 0.05 * (-1) ** seed,
    }
    for pe in ("none", "rwse")
    for norm in ("bn", "ln")
    for seed in (1, 2)
  ]
  frame = pd.DataFrame(rows)
  frame.attrs[runs.OVERRIDES] = ["model.pe", "model.norm", "seed"]
  effects = aggregate.component_effects(frame, "final/test/loss")
  assert effects["component"].tolist() == ["model.pe", "model.norm"]
  assert effects["best"].tolist() == ["rwse", "ln"]  # a loss: lower is better
  assert effects["effect"].tolist() == pytest.approx([1.0, 0.1])
  with pytest.raises(ValueError, match="varies replicate keys only"):
    aggregate.component_effects(frame, "final/test/loss", by=[])


def test_diverged_runs_are_left_out_and_named(ablation, tmp_path):
  workdir = tmp_path / "runs" / "pe=rwse,seed=4"  # not started in `ablation`: it diverges here, its best 0.0
  write_run(
    workdir,
    config={"seed": 4, "model": {"pe": "rwse"}},
    final={"test/loss": float("nan")},
    best={"step": 2, "test/accuracy_sbm": 0.0},
    status="diverged",
  )
  frame = runs.load_sweep(tmp_path)
  assert frame["status"].tolist()[-1] == "diverged"
  with pytest.warns(UserWarning, match=r"Left out 1 diverged run\(s\), not averaged in: pe=rwse,seed=4"):
    stats = aggregate.aggregate(frame, "best/test/accuracy_sbm")
  assert stats[("best/test/accuracy_sbm", "mean")].tolist() == pytest.approx([0.82, 0.93])
  assert stats[("best/test/accuracy_sbm", "count")].tolist() == [3, 3]
  with pytest.warns(UserWarning):
    table = aggregate.ablation_table(frame, "best/test/accuracy_sbm", scale=100)
  assert "| rwse | **93.00 ± 3.00 (3)** |" in table
  assert table.endswith("Left out: 1 diverged run(s) (pe=rwse,seed=4).\n")
  with pytest.warns(UserWarning):
    (effect,) = aggregate.component_effects(frame, "best/test/accuracy_sbm").to_dict("records")
  assert effect["effect"] == pytest.approx(0.11)
  write_jsonl(workdir / "metrics.jsonl", [{"step": 1, "train/loss": float("inf")}])
  curves = runs.metric_curves(tmp_path, "train/loss")
  assert curves.attrs["diverged"] == ["pe=rwse,seed=4"]
  with pytest.warns(UserWarning, match="pe=rwse,seed=4"):
    means = aggregate.aggregate_curves(curves)
  assert means["mean"].map(math.isfinite).all()
