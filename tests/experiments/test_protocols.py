"""Every experiment's reproduction protocol (`get_protocol()` in config.py) expands without training: its sweep
exists, each row's paper entry is in papers/, the runs report the metric where the protocol reads it, --quick
is shorter and smaller, and `python -m experiments.<name>.reproduce` offers the flags its data needs."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from helpers import REPO
from research.analysis import reproduction
from research.train import trainer

EXPERIMENTS = sorted(
  os.path.basename(os.path.dirname(path)) for path in glob.glob(os.path.join(REPO, "experiments", "*", "reproduce.py"))
)


def _protocol(experiment: str) -> reproduction.Protocol:
  return reproduction.load_protocol(os.path.join(REPO, "experiments", experiment, "config.py"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_protocol_expands_against_its_config_and_papers(experiment, tmp_path):
  protocol = _protocol(experiment)  # looks every row's number up in papers/
  assert protocol.experiment == experiment and any(row.paper for row in protocol.rows)
  plans = {
    quick: reproduction.make_plan(protocol, quick=quick, seeds=None, out=str(tmp_path), settings={})
    for quick in (False, True)
  }
  assert 0 < len(plans[True].runs) < len(plans[False].runs)
  assert all(runs for plan in plans.values() for _, runs in plan.groups)  # no row without runs
  configs = {quick: plan.sweep.configs[plan.runs[0].name] for quick, plan in plans.items()}
  assert configs[True].epochs < configs[False].epochs
  for config in configs.values():
    trainer.validate(config)  # every value the trainer checks before data (warmup shorter than training, ...)
    assert protocol.metric.partition("/")[0] in config.eval_splits
    assert protocol.at == "final" or config.checkpoint.keep_best  # "best" metrics need the best checkpoint


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_reproduce_script_offers_the_flags_of_its_protocol(experiment):
  proc = subprocess.run(
    [sys.executable, "-m", f"experiments.{experiment}.reproduce", "--help"],
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert proc.returncode == 0, proc.stderr
  protocol = _protocol(experiment)
  for flag in ("--quick", "--out", "--parallel", "--data_dir"):
    assert flag in proc.stdout, flag
  assert ("--manual_dir" in proc.stdout) == protocol.needs_manual_dir == ("zinc" in experiment)
  assert "--seeds" in proc.stdout
