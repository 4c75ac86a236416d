"""research.analysis.plots: the drawn data (means, bands, flags) on a real smoke sweep and hand-written runs."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from sweep_dirs import train, write_run, write_sweep

from configs import sweeps
from helpers import read_jsonl
from research.analysis import plots, runs
from research.train import diagnostics


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory, csl_data_dir):
  """pe=none and pe=lap, one seed each, trained."""
  directory = tmp_path_factory.mktemp("sweep")
  sweep = write_sweep(directory, sweeps.product({"model.pe": ["none", "lap"], "seed": [1]}))
  train(sweep, sweep.runs, csl_data_dir)
  return directory


@pytest.fixture
def two_seeds(tmp_path):
  """train/loss of two seeds: 1.0, 0.5 and 3.0, 1.5 at steps 10, 20."""
  sweep = write_sweep(tmp_path, sweeps.product({"model.pe": ["rwse"], "seed": [1, 2]}))
  for run, losses in zip(sweep.runs, ([1.0, 0.5], [3.0, 1.5])):
    metrics = [{"step": step, "train/loss": loss} for step, loss in zip((10, 20), losses)]
    write_run(sweep.workdir(run), config={}, metrics=metrics, final={"test/loss": losses[-1]})
  return runs.metric_curves(tmp_path)


def _band(ax) -> np.ndarray:
  """The (step, value) outline of the axes' one filled band."""
  (collection,) = ax.collections
  return collection.get_paths()[0].vertices


def test_learning_curves_draw_the_mean_over_seeds_and_the_min_max_band(two_seeds, tmp_path):
  fig = plots.plot_learning_curves(two_seeds, "train/loss", save=tmp_path / "curves.png")
  (ax,) = fig.axes
  (line,) = ax.lines
  assert line.get_label() == "pe=rwse (n=2)"
  assert line.get_xdata().tolist() == [10, 20] and line.get_ydata().tolist() == [2.0, 1.0]
  band = _band(ax)
  assert band[:, 1].min() == 0.5 and band[:, 1].max() == 3.0
  assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_std_band_is_mean_plus_minus_the_sample_std(two_seeds):
  (ax,) = plots.plot_learning_curves(two_seeds, "train/loss", band="std").axes
  band = _band(ax)
  assert band[:, 1].max() == pytest.approx(2.0 + np.sqrt(2.0))  # std(1, 3) with ddof=1
  assert band[:, 1].min() == pytest.approx(1.0 - np.sqrt(0.5))  # std(0.5, 1.5)
  assert not plots.plot_learning_curves(two_seeds, "train/loss", band=None).axes[0].collections


def test_learning_curves_of_a_real_sweep_one_line_per_variant_one_panel_per_metric(real_sweep):
  curves = runs.metric_curves(real_sweep)
  fig = plots.plot_learning_curves(curves, ["train/loss", "validation/accuracy"])
  loss_ax, accuracy_ax = fig.axes
  assert [line.get_label() for line in loss_ax.lines] == ["pe=none (n=1)", "pe=lap (n=1)"]
  assert loss_ax.get_ylabel() == "train/loss" and accuracy_ax.get_ylabel() == "validation/accuracy"
  rows = read_jsonl(real_sweep / "runs" / "pe=lap,seed=1" / "metrics.jsonl")
  assert loss_ax.lines[1].get_ydata().tolist() == [r["train/loss"] for r in rows if "train/loss" in r]
  assert accuracy_ax.lines[0].get_xdata().tolist() == [9, 18]


def test_grad_norm_curves_per_variant_on_a_log_scale(real_sweep):
  fig = plots.plot_grad_norm_curves(runs.diagnostic_curves(real_sweep))
  (ax,) = fig.axes
  assert ax.get_yscale() == "log" and ax.get_ylabel() == "grad_norm_global"
  rows = read_jsonl(real_sweep / "runs" / "pe=none,seed=1" / "diagnostics.jsonl")
  assert ax.lines[0].get_label() == "pe=none (n=1)"
  assert ax.lines[0].get_ydata().tolist() == [r["grad_norm_global"] for r in rows]


def test_module_grad_norms_of_a_real_run(real_sweep, tmp_path):
  frame = runs.diagnostic_curves(real_sweep)
  rows = read_jsonl(real_sweep / "runs" / "pe=lap,seed=1" / "diagnostics.jsonl")
  groups = diagnostics.group_series(rows)
  fig = plots.plot_module_grad_norms(frame, run="pe=lap,seed=1", save=tmp_path / "modules.png")
  (ax,) = fig.axes
  assert [line.get_label().split(" [")[0] for line in ax.lines] == list(groups)
  assert ax.lines[0].get_ydata().tolist() == pytest.approx(next(iter(groups.values())))
  assert ax.get_title() == "pe=lap,seed=1: gradient norm per module group"
  verdicts = plots.module_verdicts(frame, run="pe=lap,seed=1")
  assert verdicts["group"].tolist() == list(groups)
  assert verdicts["detail"].tolist() == list(diagnostics.verdicts(rows).values())
  heatmap = plots.plot_module_grad_norms(frame, run="pe=lap,seed=1", style="heatmap", level="module")
  image = heatmap.axes[0].images[0].get_array()
  modules = [k for k in rows[0] if k.startswith("grad_norm/")]
  assert image.shape == (len(modules), len(rows))
  assert image[0, -1] == pytest.approx(np.log10(rows[-1][modules[0]]))


def test_vanishing_and_exploding_groups_are_flagged(tmp_path):
  steps = range(0, 80, 10)
  rows = [
    {
      "step": s,
      "grad_norm_global": 1.0,
      "grad_norm/layers/0/attn": 10.0 ** (s / 10),  # grows 1 -> 1e7
      "grad_norm/layers/1/attn": 1e-9,
      "grad_norm/head/out": 0.5,
    }
    for s in steps
  ]
  write_run(tmp_path / "run", config={}, diagnostics=rows)
  frame = runs.diagnostic_curves(tmp_path / "run")
  verdicts = plots.module_verdicts(frame)
  assert dict(zip(verdicts["group"], verdicts["verdict"])) == {
    "layers/0": "exploding",
    "layers/1": "vanishing",
    "head/out": "healthy",
  }
  (ax,) = plots.plot_module_grad_norms(frame).axes
  labels = {line.get_label(): line.get_color() for line in ax.lines}
  assert labels["layers/0 [exploding]"] == "tab:red" and labels["layers/1 [vanishing]"] == "tab:blue"
  assert "head/out" in labels
  heatmap = plots.plot_module_grad_norms(frame, style="heatmap").axes[0]
  ticks = {t.get_text(): t.get_color() for t in heatmap.get_yticklabels()}
  assert ticks == {"layers/0 [exploding]": "tab:red", "layers/1 [vanishing]": "tab:blue", "head/out": "black"}


def test_gradient_norm_spikes_are_steps_far_above_the_median_before_them(tmp_path):
  norms = [1.0, 1.2, 0.8, 1.0, 9.0, 1.1, 1.0, 4.0, 1.0, 50.0]  # spikes at steps 40 (9x) and 90 (50x)
  write_run(
    tmp_path / "run", config={}, diagnostics=[{"step": 10 * i, "grad_norm_global": v} for i, v in enumerate(norms)]
  )
  frame = runs.diagnostic_curves(tmp_path / "run")
  spikes = plots.grad_norm_spikes(frame, factor=3.0, window=3)
  assert spikes["step"].tolist() == [40, 70, 90]  # 4.0 is 3.6x the median 1.1 of (9.0, 1.1, 1.0)
  assert spikes["median_before"].tolist() == [1.0, 1.1, 1.0]
  assert spikes["ratio"].tolist() == pytest.approx([9.0, 4 / 1.1, 50.0])
  assert plots.grad_norm_spikes(frame, factor=10.0, window=3)["step"].tolist() == [90]
  with pytest.raises(ValueError, match="No 'grad_norm_clipped'"):
    plots.grad_norm_spikes(frame, key="grad_norm_clipped")


def test_plotting_leaves_the_backend_and_pyplot_alone(two_seeds):
  backend = matplotlib.get_backend()
  plots.plot_learning_curves(two_seeds, "train/loss")
  assert matplotlib.get_backend() == backend
  from matplotlib import pyplot

  assert pyplot.get_fignums() == []  # figures are not registered with pyplot: nothing to close, nothing leaks


def test_bad_arguments_are_named(real_sweep, two_seeds):
  frame = runs.diagnostic_curves(real_sweep)
  with pytest.raises(ValueError, match=r"Pass run=NAME: the frame holds runs pe=none,seed=1, pe=lap,seed=1"):
    plots.plot_module_grad_norms(frame)
  with pytest.raises(ValueError, match=r"No run 'pe=rwse,seed=1': the frame holds runs"):
    plots.module_verdicts(frame, run="pe=rwse,seed=1")
  with pytest.raises(ValueError, match=r"No per-module gradient norms \(grad_norm/<module>\)"):
    plots.plot_module_grad_norms(runs.diagnostic_curves(real_sweep / "runs" / "pe=lap,seed=1", "grad_norm_global"))
  with pytest.raises(ValueError, match=r"No curve of \['validation/loss'\] in the frame; it holds: train/loss"):
    plots.plot_learning_curves(two_seeds, "validation/loss")
  with pytest.raises(ValueError, match=r"band='range'; choose one of \['minmax', 'std', None\]"):
    plots.plot_learning_curves(two_seeds, "train/loss", band="range")
  with pytest.raises(ValueError, match=r"style='bars'; choose one of \['lines', 'heatmap'\]"):
    plots.plot_module_grad_norms(frame, run="pe=lap,seed=1", style="bars")
