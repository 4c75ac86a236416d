"""The shared reproduction runner: a protocol from a config file, run as a sweep, results against papers/.

End to end on tests/tiny_csl_config.py (CSL :smoke runs of 18 steps): a diverged run is named and not
averaged in, a final.json cut short is run again, and a rerun trains nothing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest

import tiny_csl_config
from final_files import write_cut_final, write_diverged
from helpers import REPO
from research import rundir
from research.analysis import reproduction, runs
from research.analysis.papers import PaperNumber
from research.errors import ConfigError

CSL = "experiments/benchmarking_gnns_csl/config.py"


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory, csl_data_dir):
  """The tiny protocol run once (3 runs) on a sweep directory holding a diverged run and a cut final.json,
  then once more: both launches' exit codes and output, and the final.json times after each."""
  out = tmp_path_factory.mktemp("reproduce")
  workdirs = out / "paper" / "runs"
  diverged_final = write_diverged(workdirs / "pe=lap,seed=2")
  write_cut_final(workdirs / "pe=none,seed=2")
  argv = [f"--out={out}", f"--data_dir={csl_data_dir}"]
  launches = []
  for _ in range(2):
    proc = subprocess.run(
      [
        sys.executable,
        "-c",
        "import sys; from research.analysis import reproduction; "
        f"sys.exit(reproduction.main({tiny_csl_config.PATH!r}))",
        *argv,
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      timeout=600,
    )
    finals = {p.parent.name: p.stat().st_mtime_ns for p in workdirs.glob("*/final.json")}
    launches.append({"code": proc.returncode, "out": proc.stdout, "err": proc.stderr, "finals": finals})
  return {"out": out, "launches": launches, "diverged_final": diverged_final.read_text()}


def _results(out) -> dict:
  return json.loads((out / "results.json").read_text())


def test_results_follow_the_contract_and_the_runs_final_json(reproduced):
  first = reproduced["launches"][0]
  assert first["code"] == 3, first["out"][-3000:] + first["err"][-3000:]  # a diverged run: exit code 3
  results = _results(reproduced["out"])
  assert (results["experiment"], results["quick"]) == ("tests", False)
  none, lap = results["rows"]
  contract = {"name", "metric", "measured_mean", "measured_std", "n", "paper_mean", "paper_std", "within_paper_spread"}
  assert contract <= none.keys() and contract <= lap.keys()
  assert (none["name"], none["n"], none["diverged"], none["paper_mean"]) == ("GatedGCN", 2, 0, 10.0)
  workdir = reproduced["out"] / "paper" / "runs"
  accuracies = [100 * rundir.read_final(workdir / f"pe=none,seed={s}")["final"]["test/accuracy"] for s in (1, 2)]
  assert none["measured_mean"] == pytest.approx(sum(accuracies) / 2)
  assert none["measured_std"] == pytest.approx(abs(accuracies[0] - accuracies[1]) / 2)  # ddof=0
  assert none["within_paper_spread"] == (abs(none["measured_mean"] - 10.0) <= 1e-6)


def test_a_diverged_run_is_named_not_rerun_and_not_averaged_in(reproduced):
  lap = _results(reproduced["out"])["rows"][1]
  assert (lap["name"], lap["n"], lap["diverged"], lap["diverged_runs"]) == ("GatedGCN + LapPE", 1, 1, ["pe=lap,seed=2"])
  kept = rundir.read_final(reproduced["out"] / "paper" / "runs" / "pe=lap,seed=1")
  assert lap["measured_mean"] == pytest.approx(100 * kept["final"]["test/accuracy"])  # the NaN run is left out
  assert lap["paper_mean"] == 99.6 and lap["paper_std"] == 1.083
  text = (reproduced["out"] / "results.md").read_text()
  assert "| GatedGCN + LapPE | test accuracy (%) |" in text and "| 1 (+1 diverged) |" in text
  assert "Diverged, not averaged in: GatedGCN + LapPE: pe=lap,seed=2." in text
  assert (reproduced["out"] / "paper" / "runs" / "pe=lap,seed=2" / "final.json").read_text() == reproduced[
    "diverged_final"
  ]
  assert not (reproduced["out"] / "paper" / "logs" / "pe=lap,seed=2.log").exists()
  assert "1 diverged (not rerun: pe=lap,seed=2)" in reproduced["launches"][0]["out"]


def test_the_runs_are_a_sweep_directory_and_a_cut_final_json_was_run_again(reproduced):
  frame = runs.load_sweep(reproduced["out"] / "paper")
  assert dict(zip(frame["run"], frame["status"])) == {
    "pe=none,seed=1": "finished",
    "pe=none,seed=2": "finished",
    "pe=lap,seed=1": "finished",
    "pe=lap,seed=2": "diverged",
  }
  assert frame.attrs["sweep"] == "rows" and frame.attrs["config"] == tiny_csl_config.PATH
  assert "3 to run" in reproduced["launches"][0]["out"]


def test_a_rerun_trains_nothing_and_writes_the_same_table(reproduced):
  first, second = reproduced["launches"]
  assert second["code"] == 3 and second["finals"] == first["finals"]
  assert "3 finished already, 1 diverged" in second["out"] and "0 to run" in second["out"]
  assert "| GatedGCN | test accuracy (%) |" in second["out"]  # the table is printed


def test_quick_protocol_is_its_own_sweep_of_the_selected_runs(tmp_path):
  protocol = reproduction.load_protocol(tiny_csl_config.PATH)
  plan = reproduction.make_plan(protocol, quick=True, seeds=None, out=str(tmp_path), settings={})
  assert plan.sweep.directory == str(tmp_path / "quick") and plan.sweep.config_arg == "fold=1"
  assert [r.name for r in plan.runs] == ["pe=none,seed=1", "pe=lap,seed=1"] == [r.name for r in plan.sweep.runs]
  assert [(row.name, [r.name for r in group]) for row, group in plan.groups] == [
    ("GatedGCN", ["pe=none,seed=1"]),
    ("GatedGCN + LapPE", ["pe=lap,seed=1"]),
  ]
  assert plan.sweep.configs["pe=lap,seed=1"].data.fold == 1
  with pytest.raises(ConfigError, match="--seeds is for the paper protocol"):
    reproduction.make_plan(protocol, quick=True, seeds=1, out=str(tmp_path), settings={})


def test_seeds_take_the_runs_of_the_first_seeds_and_settings_reach_every_run(tmp_path):
  protocol = reproduction.load_protocol(tiny_csl_config.PATH)
  plan = reproduction.make_plan(protocol, quick=False, seeds=1, out=str(tmp_path), settings={"data.data_dir": "/data"})
  assert [r.name for r in plan.runs] == ["pe=none,seed=1", "pe=lap,seed=1"] and len(plan.sweep.runs) == 4
  assert plan.sweep.run_args(plan.runs[0])[-1] == "--config.data.data_dir=/data"
  assert "data_dir" not in json.dumps(plan.sweep.manifest())  # where the data is is no part of the sweep


def test_csl_protocol_has_three_rows_over_folds_and_seeds_and_quick_leaves_gt_out(tmp_path):
  protocol = reproduction.load_protocol(CSL)
  quick = reproduction.make_plan(protocol, quick=True, seeds=None, out=str(tmp_path), settings={})
  assert [(row.name, len(group)) for row, group in quick.groups] == [("GatedGCN", 5), ("GatedGCN + LapPE", 5)]
  assert list(quick.dropped) == ["GT + LapPE"] and "not converged after 100 epochs" in quick.dropped["GT + LapPE"]
  assert {run.overrides["seed"] for run in quick.runs} == {14} and protocol.parallel == 2
  assert len(quick.sweep.runs) == 10, "the quick sweep directory holds no run of a dropped row"
  lap = next(run for run in quick.runs if run.overrides["model.pe"] == "lap")
  assert quick.sweep.configs[lap.name].model.name == "gated_gcn" and quick.sweep.configs[lap.name].epochs == 100
  assert f"--config={CSL}:epochs=100,model=gated_gcn" in quick.sweep.run_args(lap)
  paper = reproduction.make_plan(protocol, quick=False, seeds=None, out=str(tmp_path), settings={})
  assert [(row.name, len(group)) for row, group in paper.groups][-1] == ("GT + LapPE", 5 * 20) and not paper.dropped
  assert len(paper.runs) == 3 * 5 * 20 and paper.sweep.configs[paper.runs[0].name].epochs == 1000


def test_rows_the_quick_protocol_leaves_out_are_named_with_their_reason(tmp_path):
  rows = [reproduction.Row("A", "acc", [100.0], None)]
  text = reproduction.write_results(str(tmp_path), "x", True, rows, "# header", {"B": "It has not converged."})
  assert "Not in the quick protocol: B. It has not converged." in text
  data = json.loads((tmp_path / "results.json").read_text())
  assert data["dropped_rows"] == [{"name": "B", "reason": "It has not converged."}]


def test_results_files_with_paper_numbers_and_diverged_runs(tmp_path):
  paper = PaperNumber(99.6, 1.083, "Table 10")
  rows = [
    reproduction.Row("A", "acc", [100.0, 98.0], paper),
    reproduction.Row("B", "acc", [90.0, 90.0], paper),
    reproduction.Row("C", "acc", [97.0], None),
    reproduction.Row("D", "acc", [], paper, ["d1"]),
  ]
  text = reproduction.write_results(str(tmp_path), "x", True, rows, "# header")
  data = json.loads((tmp_path / "results.json").read_text())
  assert data["experiment"] == "x" and data["quick"] is True
  assert [r["within_paper_spread"] for r in data["rows"]] == [True, False, None, None]
  assert data["rows"][0]["measured_mean"] == 99.0 and data["rows"][0]["measured_std"] == 1.0
  assert data["rows"][3]["measured_mean"] is None and data["rows"][3]["diverged_runs"] == ["d1"]
  assert "| A | acc | 99.000 ± 1.000 | 2 | 99.600 ± 1.083 | yes |" in text
  assert "| D | acc | – | 0 (+1 diverged) | 99.600 ± 1.083 | – |" in text and "Paper numbers: Table 10." in text
  assert not any(isinstance(v, float) and math.isnan(v) for row in data["rows"] for v in row.values())


def _protocol_file(tmp_path, protocol: str) -> str:
  path = tmp_path / "config.py"
  path.write_text(
    textwrap.dedent(f"""
      from tiny_csl_config import get_config, get_sweep

      def get_protocol():
        return {protocol}
  """)
  )
  return str(path)


@pytest.mark.parametrize(
  "protocol, message",
  [
    ('{"metric": "m", "rows": [{"name": "a"}], "quick": {}, "seed": 1}', r"unknown key\(s\) \['seed'\]"),
    ('{"rows": [{"name": "a"}], "quick": {}}', "needs metric"),
    ('{"metric": "m", "at": "last", "rows": [{"name": "a"}], "quick": {}}', "at='last'; choose one of best, final"),
    ('{"metric": "m", "rows": [{"name": "a", "table": "csl"}], "quick": {}}', "names no paper"),
    (
      '{"metric": "m", "paper": "benchmarking_gnns", "rows": [{"name": "a", "table": "nope"}], "quick": {}}',
      "has no table 'nope'",
    ),
    ('{"metric": "m", "paper": "nopaper", "rows": [{"name": "a", "table": "t"}], "quick": {}}', "No papers/nopaper"),
    ('{"metric": "m", "sweep": "typo", "rows": [{"name": "a"}], "quick": {}}', "Unknown sweep 'typo'"),
    ('{"metric": "m", "rows": [{"name": "a"}], "quick": {"drop_rows": {"b": "why"}}}', "drop_rows names 'b'"),
    ('{"metric": "m", "rows": [{"name": "a"}], "quick": {"drop_rows": {"a": ""}}}', "say, as measured, why"),
  ],
)
def test_a_bad_protocol_is_named(tmp_path, protocol, message):
  with pytest.raises(ConfigError, match=message):
    reproduction.load_protocol(_protocol_file(tmp_path, protocol))


def test_runs_outside_every_row_or_in_two_are_refused(tmp_path):
  rows = '[{"name": "a", "runs": {"seed": 1}}, {"name": "b", "runs": {"model.pe": "lap"}}]'
  protocol = reproduction.load_protocol(
    _protocol_file(tmp_path, f'{{"metric": "m", "sweep": "rows", "rows": {rows}, "quick": {{}}}}')
  )
  with pytest.raises(ConfigError, match=r"Run 'pe=none,seed=2' belongs to 0 rows"):
    reproduction.make_plan(protocol, quick=False, seeds=None, out=str(tmp_path), settings={})
  rows = '[{"name": "a", "runs": {"model.pee": "lap"}}]'
  protocol = reproduction.load_protocol(_protocol_file(tmp_path, f'{{"metric": "m", "rows": {rows}, "quick": {{}}}}'))
  with pytest.raises(ConfigError, match=r"selects runs by \['model.pee'\], which no run of sweep '' sets"):
    reproduction.make_plan(protocol, quick=False, seeds=None, out=str(tmp_path), settings={})


@pytest.mark.parametrize(
  "flags, message",
  [
    (["--parallel=0"], "error: --parallel=0; run at least 1 at a time.\n"),
    (["--quick", "--seeds=2"], "error: --seeds is for the paper protocol; --quick runs those with {'seed': [14]}.\n"),
    (["--seeds=0"], "error: --seeds=0; use at least 1 of the protocol's 20 seeds.\n"),
  ],
)
def test_user_mistakes_end_in_one_line_and_exit_code_2(tmp_path, flags, message):
  proc = subprocess.run(
    [sys.executable, "-m", "experiments.benchmarking_gnns_csl.reproduce", f"--out={tmp_path}", *flags],
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert (proc.returncode, proc.stderr) == (2, message)
  assert not list(tmp_path.iterdir())  # nothing written


def test_a_reproduction_directory_in_use_is_refused(tmp_path):
  protocol = reproduction.load_protocol(tiny_csl_config.PATH)
  plan = reproduction.make_plan(protocol, quick=True, seeds=None, out=str(tmp_path), settings={})
  holder = subprocess.Popen(
    [
      sys.executable,
      "-c",
      "import sys, time; from research import rundir\n"
      f"with rundir.hold({plan.sweep.directory!r}):\n"
      "  print('held', flush=True); time.sleep(60)",
    ],
    cwd=REPO,
    stdout=subprocess.PIPE,
    text=True,
  )
  try:
    assert holder.stdout.readline() == "held\n"
    assert reproduction.main(tiny_csl_config.PATH, ["--quick", f"--out={tmp_path}"]) == 2
  finally:
    holder.kill()
    holder.wait()
