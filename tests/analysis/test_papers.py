"""papers/ is found in a checkout and in an installed (not editable) package, where setup.py puts it in research/."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import REPO
from research.analysis import papers
from research.errors import ConfigError


def test_a_built_package_carries_the_papers_and_finds_them_there(tmp_path):
  build = subprocess.run(
    [sys.executable, "setup.py", "-q", "build_py", f"--build-lib={tmp_path / 'lib'}"],
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert build.returncode == 0, build.stderr
  assert (tmp_path / "lib" / "research" / "papers" / "graphgps.yaml").is_file()
  elsewhere = tmp_path / "elsewhere"
  elsewhere.mkdir()
  script = (
    "import research; from research.analysis import papers; "
    "print(research.__file__); print(papers.papers_dir()); "
    "print(papers.paper_number('graphgps', 'benchmarking_gnns', model='GPS', dataset='PATTERN').mean)"
  )
  proc = subprocess.run(
    [sys.executable, "-c", script],
    cwd=elsewhere,
    env={"PYTHONPATH": str(tmp_path / "lib")},
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert proc.returncode == 0, proc.stderr
  package, folder, mean = proc.stdout.splitlines()
  assert package == str(tmp_path / "lib" / "research" / "__init__.py")
  assert folder == str(tmp_path / "lib" / "research" / "papers") and float(mean) == 86.685


def test_a_checkout_reads_the_top_level_papers_folder():
  assert str(papers.papers_dir()) == f"{REPO}/papers"


def test_an_unknown_paper_lists_the_known_ones():
  with pytest.raises(ConfigError, match=r"No papers/graphgpt.yaml .*papers: benchmarking_gnns, exphormer, graphgps"):
    papers.paper_number("graphgpt", "t")
