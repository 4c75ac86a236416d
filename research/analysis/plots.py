"""Learning curves and gradient-norm curves per variant, and one run's per-module gradient norms.

    curves = metric_curves(sweep_dir)
    plot_learning_curves(curves, metric="validation/accuracy")             # mean over seeds, min–max band
    plot_grad_norm_curves(diagnostic_curves(sweep_dir, "grad_norm_global"))
    plot_module_grad_norms(diagnostic_curves(run_dir), style="heatmap")    # flags vanishing/exploding groups
    grad_norm_spikes(diagnostic_curves(run_dir))                            # steps whose gradient norm jumped

Every function returns a matplotlib Figure and, given `save`, also writes it there. Figures are
built without pyplot and drawn with Agg, so they work headless and show in notebooks when
returned. The vanishing/exploding verdicts are those of `research.train.diagnostics`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from research.analysis import aggregate as aggregate_lib
from research.analysis import runs as runs_lib
from research.train import diagnostics

BANDS = ("minmax", "std", None)
STYLES = ("lines", "heatmap")
LEVELS = ("group", "module")
GRAD_NORM = "grad_norm/"
FLAG_COLORS = {"exploding": "tab:red", "vanishing": "tab:blue"}


def _finish(fig: Figure, save: str | os.PathLike | None) -> Figure:
  fig.tight_layout()
  if save is not None:
    fig.savefig(save, dpi=100)
  return fig


def _check_choice(name: str, value: object, choices: Sequence[object]) -> None:
  if value not in choices:
    raise ValueError(f"{name}={value!r}; choose one of {list(choices)}.")


def _plot_variants(ax: Axes, stats: pd.DataFrame, metric: str, band: str | None) -> None:
  """One mean line per variant over steps, with its min–max or ±std band across replicates."""
  keys = stats.attrs[runs_lib.OVERRIDES] or ["variant"]
  rows = stats[stats["metric"] == metric]
  for values, variant in rows.groupby(keys, sort=False, dropna=False):
    variant = variant.sort_values("step")
    label = aggregate_lib.variant_label(stats.attrs[runs_lib.OVERRIDES], values)
    (line,) = ax.plot(variant["step"], variant["mean"], label=f"{label} (n={variant['count'].max()})")
    if band == "minmax":
      ax.fill_between(variant["step"], variant["min"], variant["max"], color=line.get_color(), alpha=0.2, lw=0)
    elif band == "std":
      std = variant["std"].fillna(0.0)
      ax.fill_between(
        variant["step"], variant["mean"] - std, variant["mean"] + std, color=line.get_color(), alpha=0.2, lw=0
      )
  ax.set_xlabel("step")
  ax.set_ylabel(metric)
  ax.legend(fontsize=8)


def plot_learning_curves(
  curves: pd.DataFrame,
  metric: str | Sequence[str],
  *,
  by: Sequence[str] | None = None,
  replicate_keys: Sequence[str] = aggregate_lib.REPLICATE_KEYS,
  band: str | None = "minmax",
  logy: bool = False,
  save: str | os.PathLike | None = None,
) -> Figure:
  """`metric` (one panel per metric) over steps per variant: the mean over replicates and a band
  ("minmax" across replicates, "std" for mean ± std, None for none). `curves` is metric_curves' frame."""
  _check_choice("band", band, BANDS)
  metrics = [metric] if isinstance(metric, str) else list(metric)
  missing = [m for m in metrics if m not in set(curves["metric"])]
  if missing:
    raise ValueError(f"No curve of {missing} in the frame; it holds: {', '.join(sorted(set(curves['metric'])))}.")
  stats = aggregate_lib.aggregate_curves(curves[curves["metric"].isin(metrics)], by=by, replicate_keys=replicate_keys)
  fig = Figure(figsize=(5.5 * len(metrics), 4))
  for ax, name in zip(fig.subplots(1, len(metrics), squeeze=False)[0], metrics):
    _plot_variants(ax, stats, name, band)
    if logy:
      ax.set_yscale("log")
  return _finish(fig, save)


def plot_grad_norm_curves(
  diagnostics_frame: pd.DataFrame,
  key: str = "grad_norm_global",
  *,
  by: Sequence[str] | None = None,
  replicate_keys: Sequence[str] = aggregate_lib.REPLICATE_KEYS,
  band: str | None = "minmax",
  save: str | os.PathLike | None = None,
) -> Figure:
  """A gradient norm (`grad_norm_global` by default, or `grad_norm/<module>`) per variant over steps, log scale.
  `diagnostics_frame` is diagnostic_curves' frame."""
  return plot_learning_curves(
    diagnostics_frame, key, by=by, replicate_keys=replicate_keys, band=band, logy=True, save=save
  )


def _one_run(frame: pd.DataFrame, run: str | None) -> str:
  """`run`, or the frame's only run; fails listing the runs when that is not one of them."""
  runs = list(dict.fromkeys(frame["run"]))
  if run is None and len(runs) == 1:
    return runs[0]
  if run is None or run not in runs:
    shown = ", ".join(runs[:10]) + (" ..." if len(runs) > 10 else "")
    problem = "Pass run=NAME" if run is None else f"No run {run!r}"
    raise ValueError(f"{problem}: the frame holds runs {shown or 'none'}.")
  return run


def _diagnostic_rows(frame: pd.DataFrame, run: str) -> list[dict[str, float]]:
  """One run's diagnostics.jsonl rows back from the long frame, as research.train.diagnostics reads them."""
  frame = frame[frame["run"] == run]
  wide = frame.pivot(index="step", columns="metric", values="value").sort_index()
  if not any(str(c).startswith(GRAD_NORM) for c in wide.columns):
    raise ValueError(
      f"No per-module gradient norms ({GRAD_NORM}<module>) in the frame; load them with "
      "diagnostic_curves(path) or diagnostic_curves(path, 'grad_norm/*')."
    )
  return [{"step": step, **row.dropna().to_dict()} for step, row in wide.iterrows()]


def module_verdicts(diagnostics_frame: pd.DataFrame, run: str | None = None) -> pd.DataFrame:
  """exploding / vanishing / healthy per module group of one run (research.train.diagnostics' verdicts).

  Columns: group, verdict, detail (the median norms behind it).
  """
  return _verdict_frame(_diagnostic_rows(diagnostics_frame, _one_run(diagnostics_frame, run)))


def grad_norm_spikes(
  diagnostics_frame: pd.DataFrame,
  run: str | None = None,
  *,
  key: str = "grad_norm_global",
  factor: float = 5.0,
  window: int = 10,
) -> pd.DataFrame:
  """Steps of one run where `key` exceeds `factor` times its median over the `window` logged steps before.

  Columns: step, value, median_before, ratio (the first `window` steps have no baseline and are never spikes).
  """
  run = _one_run(diagnostics_frame, run)
  series = diagnostics_frame[(diagnostics_frame["run"] == run) & (diagnostics_frame["metric"] == key)]
  if series.empty:
    raise ValueError(f"No {key!r} in the frame for run {run!r}; load it with diagnostic_curves(path).")
  series = series.sort_values("step")
  baseline = series["value"].rolling(window, min_periods=window).median().shift(1)
  spikes = pd.DataFrame(
    {"step": series["step"], "value": series["value"], "median_before": baseline, "ratio": series["value"] / baseline}
  )
  return spikes[spikes["ratio"] > factor].reset_index(drop=True)


def _verdict_frame(rows: list[dict[str, float]]) -> pd.DataFrame:
  verdicts = diagnostics.verdicts(rows)
  return pd.DataFrame(
    [{"group": g, "verdict": text.split(" ", 1)[0], "detail": text} for g, text in verdicts.items()],
    columns=["group", "verdict", "detail"],
  )


def _module_series(rows: list[dict[str, float]], level: str) -> dict[str, list[float]]:
  if level == "group":
    return diagnostics.group_series(rows)
  modules = dict.fromkeys(k[len(GRAD_NORM) :] for row in rows for k in row if k.startswith(GRAD_NORM))
  return {m: [row.get(GRAD_NORM + m, np.nan) for row in rows] for m in modules}


def plot_module_grad_norms(
  diagnostics_frame: pd.DataFrame,
  run: str | None = None,
  *,
  style: str = "lines",
  level: str = "group",
  save: str | os.PathLike | None = None,
) -> Figure:
  """One run's gradient norm per module group (level="group") or module, over steps: "lines" (log scale)
  or a "heatmap" of log10 norms. Labels carry the group's verdict; vanishing and exploding ones are
  coloured (blue, red)."""
  _check_choice("style", style, STYLES)
  _check_choice("level", level, LEVELS)
  run = _one_run(diagnostics_frame, run)
  rows = _diagnostic_rows(diagnostics_frame, run)
  steps = [row["step"] for row in rows]
  series = _module_series(rows, level)
  flags = dict(_verdict_frame(rows)[["group", "verdict"]].itertuples(index=False))
  flag = {name: flags.get(name if level == "group" else diagnostics.module_group(name), "") for name in series}
  fig = Figure(figsize=(11, max(4.0, 0.22 * len(series)) if style == "heatmap" else 5))
  ax = fig.subplots()
  if style == "lines":
    _lines(ax, steps, series, flag)
  else:
    _heatmap(fig, ax, steps, series, flag)
  ax.set_title(f"{run}: gradient norm per {'module group' if level == 'group' else 'module'}")
  return _finish(fig, save)


def _label(name: str, flag: str) -> str:
  return f"{name} [{flag}]" if flag in FLAG_COLORS else name


def _lines(ax: Axes, steps: list[int], series: dict[str, list[float]], flag: dict[str, str]) -> None:
  colors = colormaps["viridis"](np.linspace(0, 1, max(len(series), 1)))
  for color, (name, values) in zip(colors, series.items()):
    flagged = flag[name] in FLAG_COLORS
    ax.plot(
      steps,
      values,
      color=FLAG_COLORS.get(flag[name], color),
      lw=2.0 if flagged else 1.0,
      label=_label(name, flag[name]),
    )
  ax.set_yscale("log")
  ax.set_xlabel("step")
  ax.set_ylabel("gradient norm")
  ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))


def _heatmap(fig: Figure, ax: Axes, steps: list[int], series: dict[str, list[float]], flag: dict[str, str]) -> None:
  with np.errstate(divide="ignore", invalid="ignore"):
    image = np.log10(np.array(list(series.values()), dtype=np.float64))
  shown = ax.imshow(image, aspect="auto", interpolation="nearest", cmap="viridis")
  fig.colorbar(shown, ax=ax, label="log10 gradient norm")
  ax.set_yticks(range(len(series)), [_label(name, flag[name]) for name in series], fontsize=7)
  for tick, name in zip(ax.get_yticklabels(), series):
    tick.set_color(FLAG_COLORS.get(flag[name], "black"))
  ticks = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), 8)).round().astype(int))
  ax.set_xticks(ticks, [str(steps[i]) for i in ticks])
  ax.set_xlabel("step")
