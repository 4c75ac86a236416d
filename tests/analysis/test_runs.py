"""research.analysis.runs on a real smoke sweep (two trained runs, one interrupted, one not started) and on
hand-written run directories."""

from __future__ import annotations

import json
import math
import shutil

import pytest
from sweep_dirs import train, write_run, write_sweep

from configs import sweeps
from final_files import write_cut_final, write_diverged
from helpers import read_jsonl
from research.analysis import runs
from research.errors import WorkdirError


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory, csl_data_dir):
  """seed=1,pe=none and seed=1,pe=lap trained; seed=2,pe=none interrupted after two logged rows; seed=2,pe=lap
  not started."""
  directory = tmp_path_factory.mktemp("sweep")
  sweep = write_sweep(directory, sweeps.product({"seed": [1, 2], "model.pe": ["none", "lap"]}))
  assert [r.name for r in sweep.runs] == ["seed=1,pe=none", "seed=1,pe=lap", "seed=2,pe=none", "seed=2,pe=lap"]
  train(sweep, sweep.runs[:2], csl_data_dir)
  source, interrupted = directory / "runs" / "seed=1,pe=none", directory / "runs" / "seed=2,pe=none"
  interrupted.mkdir()
  shutil.copy(source / "config.json", interrupted)
  lines = (source / "metrics.jsonl").read_text().splitlines(keepends=True)
  (interrupted / "metrics.jsonl").write_text("".join(lines[:2]))
  return directory


def _final(workdir) -> dict:
  return json.loads((workdir / "final.json").read_text())


def test_load_run_flattens_the_config_and_reads_final_and_best_metrics(sweep_dir):
  workdir = sweep_dir / "runs" / "seed=1,pe=lap"
  row = runs.load_run(workdir)
  final = _final(workdir)
  assert row["run"] == "seed=1,pe=lap" and row["status"] == "finished"
  assert row["step"] == row["total_steps"] == 18 and row["wall_time_s"] == final["wall_time_s"] > 0
  assert row["config.model.pe"] == "lap" and row["config.seed"] == 1 and row["config.data.fold"] == 0
  assert row["config.eval_splits"] == ("validation", "test")
  assert row["final/test/accuracy"] == final["final"]["test/accuracy"]
  assert row["final/validation/loss"] == final["final"]["validation/loss"]
  assert final["best"] is not None
  assert row["best/step"] == final["best"]["step"] in (9, 18)
  assert row["best/test/loss"] == final["best"]["test/loss"]


def test_load_sweep_has_one_row_per_run_with_status_and_override_columns(sweep_dir):
  frame = runs.load_sweep(sweep_dir)
  assert list(frame.columns[:4]) == ["run", "seed", "model.pe", "status"]
  assert frame["run"].tolist() == ["seed=1,pe=none", "seed=1,pe=lap", "seed=2,pe=none", "seed=2,pe=lap"]
  assert frame["status"].tolist() == ["finished", "finished", "incomplete", "not started"]
  assert frame["seed"].tolist() == [1, 1, 2, 2] and frame["model.pe"].tolist() == ["none", "lap", "none", "lap"]
  assert frame.attrs["overrides"] == ["seed", "model.pe"] and frame.attrs["sweep"] == "ablation"
  assert frame.columns[-1] == "workdir"
  for i, name in enumerate(["seed=1,pe=none", "seed=1,pe=lap"]):
    final = _final(sweep_dir / "runs" / name)
    assert frame["final/test/loss"][i] == final["final"]["test/loss"]
    assert frame["best/validation/loss"][i] == final["best"]["validation/loss"]
  assert frame["step"][2] == read_jsonl(sweep_dir / "runs" / "seed=2,pe=none" / "metrics.jsonl")[-1]["step"]
  assert frame["config.model.pe"][2] == "none"  # the interrupted run's config.json
  assert math.isnan(frame["final/test/loss"][2]) and math.isnan(frame["final/test/loss"][3])
  assert frame["config.model.pe"].isna()[3]


def test_metric_curves_are_long_with_override_columns(sweep_dir):
  curves = runs.metric_curves(sweep_dir)
  assert list(curves.columns) == ["run", "seed", "model.pe", "step", "metric", "value"]
  assert curves.attrs["overrides"] == ["seed", "model.pe"]
  assert set(curves["run"]) == {"seed=1,pe=none", "seed=1,pe=lap", "seed=2,pe=none"}  # not the unstarted one
  rows = read_jsonl(sweep_dir / "runs" / "seed=1,pe=lap" / "metrics.jsonl")
  loss = curves[(curves["run"] == "seed=1,pe=lap") & (curves["metric"] == "train/loss")]
  assert loss["step"].tolist() == [r["step"] for r in rows if "train/loss" in r] == [3, 6, 9, 12, 15, 18]
  assert loss["value"].tolist() == [r["train/loss"] for r in rows if "train/loss" in r]
  assert (loss["model.pe"] == "lap").all() and (loss["seed"] == 1).all()
  # train/learning_rate is logged with the training scalars and again with each evaluation: the last one stays.
  rates = curves[(curves["run"] == "seed=1,pe=lap") & (curves["metric"] == "train/learning_rate")]
  assert rates["step"].tolist() == [3, 6, 9, 12, 15, 18]
  assert rates[rates["step"] == 9]["value"].item() == [r for r in rows if r["step"] == 9][-1]["train/learning_rate"]


def test_metric_curves_of_one_run_keep_the_chosen_metrics(sweep_dir):
  curves = runs.metric_curves(sweep_dir / "runs" / "seed=1,pe=none", ["validation/*", "train/loss"])
  assert list(curves.columns) == ["run", "step", "metric", "value"] and set(curves["run"]) == {"seed=1,pe=none"}
  assert set(curves["metric"]) == {"validation/loss", "validation/accuracy", "train/loss"}
  assert sorted(curves[curves["metric"] == "validation/loss"]["step"]) == [9, 18]


def test_diagnostic_curves_read_gradient_norms(sweep_dir):
  workdir = sweep_dir / "runs" / "seed=1,pe=none"
  rows = read_jsonl(workdir / "diagnostics.jsonl")
  curves = runs.diagnostic_curves(sweep_dir, "grad_norm_global")
  mine = curves[curves["run"] == "seed=1,pe=none"]
  assert mine["step"].tolist() == [r["step"] for r in rows] == [3, 6, 9, 12, 15, 18]
  assert mine["value"].tolist() == [r["grad_norm_global"] for r in rows]
  modules = runs.diagnostic_curves(workdir, "grad_norm/*")
  assert set(modules["metric"]) == {k for k in rows[0] if k.startswith("grad_norm/")}


def test_unknown_metric_lists_the_logged_ones(sweep_dir):
  with pytest.raises(ValueError, match=r"No metrics.jsonl matches \['test/acc'\]; logged: test/accuracy, test/loss"):
    runs.metric_curves(sweep_dir, ["train/loss", "test/acc"])


def test_missing_sweep_json_says_what_the_directory_holds(tmp_path, sweep_dir):
  (tmp_path / "notes.txt").write_text("")
  (tmp_path / "runs").mkdir()
  with pytest.raises(FileNotFoundError, match=r"No sweep.json in '.*'; it holds: notes.txt, runs. Pass the directory"):
    runs.load_sweep(tmp_path)
  with pytest.raises(FileNotFoundError, match="it is a run directory: use load_run"):
    runs.load_sweep(sweep_dir / "runs" / "seed=1,pe=none")
  with pytest.raises(FileNotFoundError, match="No sweep directory at"):
    runs.load_sweep(tmp_path / "absent")
  with pytest.raises(ValueError, match="is a sweep directory .*: use load_sweep"):
    runs.load_run(sweep_dir)
  with pytest.raises(FileNotFoundError, match=r"is not a run directory: no config.json, .* \(it holds: notes.txt"):
    runs.load_run(tmp_path)


def test_malformed_lines_are_named_by_file_and_line(tmp_path):
  write_run(tmp_path / "run", config={"seed": 1}, metrics=[{"step": 1, "train/loss": 2.0}])
  path = tmp_path / "run" / "metrics.jsonl"
  path.write_text(path.read_text() + '{"step": 2, "train/loss": \n{"step": 3, "train/loss": 1.0}\n')
  with pytest.raises(WorkdirError, match=r"metrics.jsonl, line 2: not valid JSON .* fix or delete that line"):
    runs.metric_curves(tmp_path / "run")
  path.write_text('{"step": 1, "train/loss": 2.0}\n["not", "a", "row"]\n')
  with pytest.raises(WorkdirError, match=r"metrics.jsonl, line 2: expected a JSON object with a \"step\""):
    runs.metric_curves(tmp_path / "run")
  path.write_text('{"step": 1, "train/loss": 2.0}\n')
  (tmp_path / "run" / "config.json").write_text('{"seed": 1,\n  "model": }')
  with pytest.raises(ValueError, match=r"config.json, line 2: not valid JSON"):
    runs.load_run(tmp_path / "run")


def test_a_row_being_written_at_the_end_is_left_out(tmp_path):
  write_run(tmp_path / "run", config={"seed": 1}, metrics=[{"step": 1, "train/loss": 2.0}])
  path = tmp_path / "run" / "metrics.jsonl"
  path.write_text(path.read_text() + '{"step": 2, "train/lo')  # no newline yet: a live run is writing it
  curves = runs.metric_curves(tmp_path / "run")
  assert curves[["step", "value"]].values.tolist() == [[1, 2.0]]
  assert runs.load_run(tmp_path / "run")["status"] == "incomplete" and runs.load_run(tmp_path / "run")["step"] == 1


def test_a_malformed_sweep_json_is_named(tmp_path):
  (tmp_path / "sweep.json").write_text(json.dumps({"config": "c.py", "runs": [{"name": "a", "overrides": {}}]}))
  with pytest.raises(ValueError, match=r"sweep.json: expected \{\"runs\": \[\{\"name\", \"workdir\", \"overrides\"\}"):
    runs.load_sweep(tmp_path)


def test_a_cut_final_json_is_an_incomplete_run_and_a_diverged_one_says_why(tmp_path):
  sweep = write_sweep(tmp_path, sweeps.product({"seed": [1, 2, 3]}))
  write_run(sweep.workdir(sweep.runs[0]), config={"seed": 1}, metrics=[{"step": 5, "train/loss": 1.0}])
  write_cut_final(sweep.workdir(sweep.runs[0]))
  write_cut_final(sweep.workdir(sweep.runs[1]))  # nothing else in that run directory
  write_diverged(sweep.workdir(sweep.runs[2]), reason="non-finite gradient in encoder at step 3")
  frame = runs.load_sweep(tmp_path)
  assert frame["status"].tolist() == ["incomplete", "incomplete", "diverged"]
  assert frame["step"][0] == 5 and math.isnan(frame["step"][1]) and frame["step"][2] == 3
  assert frame["reason"][2] == "non-finite gradient in encoder at step 3" and math.isnan(
    frame["final/test/accuracy"][2]
  )
  assert runs.load_run(sweep.workdir(sweep.runs[1]))["status"] == "incomplete"
