"""`python -m experiments.run` on ZINC from a fresh clone: the smoke run needs no download, a real run without
the released files ends with one line that says what to download."""

from __future__ import annotations

import os
import subprocess
import sys

from research.data import zinc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(config: str, tmp_path) -> subprocess.CompletedProcess:
  """The experiment `config` run in a fresh process whose TFDS data directory is empty."""
  (tmp_path / "tfds").mkdir()
  env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds"), "PYTHONPATH": REPO}
  command = [sys.executable, "-m", "experiments.run", f"--config=experiments/{config}", f"--workdir={tmp_path / 'run'}"]
  return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_the_zinc_smoke_run_reads_the_shipped_fixture_with_no_download(tmp_path):
  run = _run("gps_zinc/config.py:smoke", tmp_path)
  assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
  assert f"ZINC variant 'tiny': reading the fixture shipped in {zinc.TINY_DIR}" in run.stdout
  assert "not ZINC" in run.stdout and (tmp_path / "run" / "final.json").exists()
  assert [p.name for p in (tmp_path / "tfds" / "zinc").iterdir() if not p.name.startswith(".")] == ["tiny"]
  assert not [p for p in (tmp_path / "tfds" / "downloads").rglob("*") if p.is_file()]  # nothing was downloaded


def test_a_zinc_run_without_the_released_files_ends_with_one_line_of_instructions(tmp_path):
  run = _run("gps_zinc/config.py", tmp_path)
  lines = run.stderr.strip().splitlines()
  assert run.returncode == 2 and len(lines) == 1 and "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
  manual = tmp_path / "tfds" / "downloads" / "manual"
  assert lines[0].startswith(
    f"error: ZINC needs train.pickle, val.pickle, test.pickle, train.index, val.index, "
    f"test.index, which are not in the manual directory {manual} (it does not exist)."
  )
  assert lines[0].count(zinc.DOWNLOAD_URL) == 1 and lines[0].count(zinc.INDEX_URL.format(split="test")) == 1
