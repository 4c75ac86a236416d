"""notebooks/: stored without outputs, and executed (nbclient) on the 8-run :smoke sweep of tests/conftest.py."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import SMOKE_SWEEP_RUNS

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOKS = ("ablation_analysis", "gradient_diagnostics")


def _read(name: str) -> nbformat.NotebookNode:
  return nbformat.read(os.path.join(REPO, "notebooks", f"{name}.ipynb"), as_version=4)


def _outputs(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
  return [out["data"][mime] for cell in notebook.cells for out in cell.get("outputs", [])
          if mime in out.get("data", {})]


def _stream(notebook: nbformat.NotebookNode) -> str:
  return "".join(out["text"] for cell in notebook.cells for out in cell.get("outputs", [])
                 if out["output_type"] == "stream")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebooks_have_no_outputs(name):
  notebook = _read(name)
  nbformat.validate(notebook)
  for cell in notebook.cells:
    if cell.cell_type == "code":
      assert cell.outputs == [] and cell.execution_count is None, (
          f"notebooks/{name}.ipynb is stored with outputs: clear them (Jupyter: Edit > Clear All Outputs) and save.")


def _execute(name: str, sweep_dir: str, monkeypatch) -> nbformat.NotebookNode:
  monkeypatch.setenv("SWEEP_DIR", sweep_dir)  # the kernel inherits this environment
  notebook = _read(name)
  NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": REPO}}).execute()
  return notebook


@pytest.mark.xdist_group("smoke_sweep")  # on the worker that builds the sweep
def test_ablation_notebook_tables_and_plots_the_sweep(smoke_sweep, monkeypatch):
  notebook = _execute("ablation_analysis", smoke_sweep["dir"], monkeypatch)
  (table,) = _outputs(notebook, "text/markdown")
  assert table.startswith("| model.pe | final/test/accuracy_sbm (×100) |")
  assert "| lap_sym | " in table and "| none | " in table and table.count("(4)") == 2  # 4 seeds per variant
  out = _stream(notebook)
  assert f"finished    {SMOKE_SWEEP_RUNS}" in out
  assert r"\begin{tabular}{lr}" in out and "model.pe:" in out  # the LaTeX table, the component verdict
  assert len(_outputs(notebook, "image/png")) == 2  # learning curves, gradient norms


@pytest.mark.xdist_group("smoke_sweep")  # on the worker that builds the sweep
def test_gradient_notebook_plots_one_run_per_module(smoke_sweep, monkeypatch):
  notebook = _execute("gradient_diagnostics", smoke_sweep["dir"], monkeypatch)
  out = _stream(notebook)
  assert "pe=lap_sym,seed=41 finished" in out and "spike(s) above" in out
  assert "healthy" in out or "vanishing" in out or "exploding" in out
  assert len(_outputs(notebook, "image/png")) == 3  # global norm, per-module heat map, per-group lines
  assert any("<table" in html for html in _outputs(notebook, "text/html"))  # the verdict table
