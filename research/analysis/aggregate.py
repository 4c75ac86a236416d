"""Aggregates over replicates (seeds, folds) and ablation tables in markdown or LaTeX.

    runs = load_sweep("runs/gt_pattern/sweeps/ablation_pe")
    aggregate(runs, "best/test/accuracy_sbm")                   # mean, std, count per variant
    ablation_table(runs, "best/test/accuracy_sbm", scale=100)   # | pe | best/test/accuracy_sbm (×100) |
    component_effects(runs, "best/test/accuracy_sbm")           # which ablated component moves the metric

A variant is one value of the sweep's override keys other than the replicate keys (`seed`,
`data.fold` by default); its runs are the replicates. The std is the sample std (ddof=1), the
± that papers usually report over seeds; pass ddof=0 for the population std that
`research.analysis.reproduction` (and GraphGPS's and Benchmarking GNNs' scripts) compute.
Runs without a value (not finished, or no best checkpoint) do not count. Diverged runs never
count: they are left out with a warning naming them, and the ablation table's note names them too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from research.analysis import runs as runs_lib
from research.sweep import spec

REPLICATE_KEYS = ("seed", "data.fold")
STATS = ("mean", "std", "count")
ALL = "all"  # the one variant of a sweep that varies replicate keys only
LOWER_IS_BETTER = ("loss", "mae", "mse", "rmse", "error", "fid", "perplexity")


def variant_keys(
  frame: pd.DataFrame, by: Sequence[str] | None = None, replicate_keys: Sequence[str] = REPLICATE_KEYS
) -> list[str]:
  """The columns that tell variants apart: `by`, or the frame's sweep override keys less the replicate keys."""
  if by is None:
    if runs_lib.OVERRIDES not in frame.attrs:
      raise ValueError(
        "The frame does not say which columns are its sweep's overrides (frame.attrs['overrides'], "
        "set by load_sweep and metric_curves); pass by=[...] naming the columns of a variant."
      )
    by = [k for k in frame.attrs[runs_lib.OVERRIDES] if k not in replicate_keys]
  missing = [k for k in by if k not in frame.columns]
  if missing:
    raise ValueError(f"No column {missing} in the frame; its columns: {', '.join(map(str, frame.columns[:40]))}.")
  return list(by)


def variant_label(keys: Sequence[str], values: Sequence[object]) -> str:
  """`pe=rwse,layers=4`, as run names spell overrides; `all` without keys."""
  return spec.run_name(dict(zip(keys, values))) if keys else ALL


def _check_metrics(frame: pd.DataFrame, metrics: Sequence[str]) -> None:
  missing = [m for m in metrics if m not in frame.columns]
  if missing:
    metric_columns = [c for c in frame.columns if str(c).startswith(("final/", "best/"))]
    statuses = frame["status"].value_counts().to_dict() if "status" in frame.columns else {}
    raise ValueError(
      f"No column {missing} in the frame; metric columns: {metric_columns or 'none'}. final/ and "
      f"best/ columns come from finished runs' final.json (run statuses: {statuses})."
    )


def diverged_runs(frame: pd.DataFrame) -> list[str]:
  """The names of the frame's diverged runs: rows of status "diverged" (load_sweep), or the runs that
  `frame.attrs["diverged"]` names (metric_curves, diagnostic_curves)."""
  if "status" in frame.columns:
    rows = frame[frame["status"] == runs_lib.DIVERGED]
    return [str(name) for name in (rows["run"] if "run" in rows.columns else rows.index)]
  return list(frame.attrs.get(runs_lib.DIVERGED_RUNS, ()))


def without_diverged(frame: pd.DataFrame) -> pd.DataFrame:
  """The frame less its diverged runs, with a warning naming them (their metrics are never averaged in)."""
  diverged = diverged_runs(frame)
  if not diverged:
    return frame
  warnings.warn(f"Left out {len(diverged)} diverged run(s), not averaged in: {', '.join(diverged)}.", stacklevel=3)
  if "status" in frame.columns:
    return frame[frame["status"] != runs_lib.DIVERGED]
  return frame[~frame["run"].isin(diverged)]


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> list[pd.Series]:
  return [frame[k] for k in keys] if keys else [pd.Series(ALL, index=frame.index, name="variant")]


def aggregate(
  frame: pd.DataFrame,
  metrics: str | Sequence[str],
  *,
  by: Sequence[str] | None = None,
  replicate_keys: Sequence[str] = REPLICATE_KEYS,
  ddof: int = 1,
) -> pd.DataFrame:
  """Mean, std (ddof=1 by default) and count of `metrics` per variant, variants in sweep order.

  Rows: one per variant (indexed by the variant keys); columns: (metric, "mean" | "std" | "count").
  """
  metrics = [metrics] if isinstance(metrics, str) else list(metrics)
  _check_metrics(frame, metrics)
  keys = variant_keys(frame, by, replicate_keys)
  frame = without_diverged(frame)
  grouped = frame[metrics].astype("float64").groupby(_groups(frame, keys), sort=False, dropna=False)
  stats = pd.concat({"mean": grouped.mean(), "std": grouped.std(ddof=ddof), "count": grouped.count()}, axis=1)
  return stats.swaplevel(axis=1)[[(m, s) for m in metrics for s in STATS]]


def aggregate_curves(
  curves: pd.DataFrame,
  *,
  by: Sequence[str] | None = None,
  replicate_keys: Sequence[str] = REPLICATE_KEYS,
  ddof: int = 1,
) -> pd.DataFrame:
  """Per variant, metric and step over replicates: mean, std, min, max, count (a long frame)."""
  keys = variant_keys(curves, by, replicate_keys)
  curves = without_diverged(curves)
  grouped = curves.groupby([*_groups(curves, keys), curves["metric"], curves["step"]], sort=False, dropna=False)
  values = grouped["value"]
  stats = pd.DataFrame(
    {
      "mean": values.mean(),
      "std": values.std(ddof=ddof),
      "min": values.min(),
      "max": values.max(),
      "count": values.count(),
    }
  )
  stats = stats.reset_index()
  stats.attrs[runs_lib.OVERRIDES] = keys
  return stats


def lower_is_better(metric: str) -> bool:
  """Guessed from the metric's name: losses, errors, MAE/MSE, FID and perplexity are better lower."""
  name = metric.rsplit("/", 1)[-1].lower()
  return any(word in name for word in LOWER_IS_BETTER)


class Markdown(str):
  """A markdown string that notebooks render as markdown."""

  def _repr_markdown_(self) -> str:
    return str(self)


def _cell(mean: float, std: float, count: int, digits: int) -> str:
  if count == 0:
    return "–"
  spread = f"{std:.{digits}f}" if math.isfinite(std) else "–"
  return f"{mean:.{digits}f} ± {spread} ({count})"


def _best(means: pd.Series, lower: bool) -> np.ndarray:
  """Where the mean is the best finite one (ties all marked)."""
  finite = means[np.isfinite(means)]
  if finite.empty:
    return np.zeros(len(means), bool)
  return (means == (finite.min() if lower else finite.max())).to_numpy()


_LATEX_SPECIAL = str.maketrans(
  {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
  }
)


def _text(value: object) -> str:
  """A variant value as a table cell; a key that this variant's overrides lack shows as –."""
  return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _rows(
  stats: pd.DataFrame, metrics: Sequence[str], scale: float, digits: int, higher_is_better: bool | None
) -> tuple[list[list[str]], list[list[bool]]]:
  """Text cells (variant values, then one cell per metric) and where each metric's best is."""
  cells = [list(map(_text, values)) for values in stats.index.to_frame(index=False).itertuples(index=False)]
  best = [[False] * len(row) for row in cells]
  for metric in metrics:
    mean, std, count = (stats[(metric, s)] for s in STATS)
    lower = lower_is_better(metric) if higher_is_better is None else not higher_is_better
    for i, is_best in enumerate(_best(mean, lower)):
      cells[i].append(_cell(scale * mean.iloc[i], scale * std.iloc[i], int(count.iloc[i]), digits))
      best[i].append(bool(is_best))
  return cells, best


def _markdown(header: list[str], cells: list[list[str]], best: list[list[bool]], note: str) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for row, marks in zip(cells, best):
    lines.append("| " + " | ".join(f"**{c}**" if m else c for c, m in zip(row, marks)) + " |")
  return Markdown("\n".join(lines) + f"\n\n{note}\n")


def _latex(header: list[str], cells: list[list[str]], best: list[list[bool]], num_keys: int, note: str) -> str:
  def cell(text: str, is_best: bool) -> str:
    text = text.translate(_LATEX_SPECIAL).replace("±", r"$\pm$").replace("–", "--")
    return rf"\textbf{{{text}}}" if is_best else text

  lines = [
    rf"\begin{{tabular}}{{{'l' * num_keys}{'r' * (len(header) - num_keys)}}}",
    r"\toprule",
    " & ".join(h.translate(_LATEX_SPECIAL).replace("×", r"$\times$") for h in header) + r" \\",
    r"\midrule",
  ]
  lines += [" & ".join(cell(c, m) for c, m in zip(row, marks)) + r" \\" for row, marks in zip(cells, best)]
  lines += [r"\bottomrule", r"\end{tabular}", f"% {note}"]
  return "\n".join(lines) + "\n"


def ablation_table(
  frame: pd.DataFrame,
  metrics: str | Sequence[str],
  *,
  by: Sequence[str] | None = None,
  replicate_keys: Sequence[str] = REPLICATE_KEYS,
  scale: float = 1.0,
  digits: int = 2,
  ddof: int = 1,
  higher_is_better: bool | None = None,
  latex: bool = False,
) -> str:
  """One row per variant, one `mean ± std (n)` column per metric, the best variant in bold.

  `scale` multiplies every value (100 for %); `higher_is_better=None` guesses each metric's
  direction from its name (`lower_is_better`). Markdown by default (rendered in notebooks),
  LaTeX (booktabs) with `latex=True`.
  """
  metrics = [metrics] if isinstance(metrics, str) else list(metrics)
  stats = aggregate(frame, metrics, by=by, replicate_keys=replicate_keys, ddof=ddof)
  keys = list(stats.index.names)
  suffix = "" if scale == 1 else f" (×{scale:g})"
  header = [*keys, *(m + suffix for m in metrics)]
  cells, best = _rows(stats, metrics, scale, digits, higher_is_better)
  note = f"mean ± std over runs (std with ddof={ddof}), (n) runs per variant; best variant in bold."
  diverged = diverged_runs(frame)
  if diverged:
    note += f" Left out: {len(diverged)} diverged run(s) ({', '.join(diverged)})."
  return _latex(header, cells, best, len(keys), note) if latex else _markdown(header, cells, best, note)


def _pooled_std(frame: pd.DataFrame, metric: str, keys: Sequence[str]) -> float:
  """The spread between replicates: the root of the mean within-variant variance (ddof=1)."""
  variances = frame.groupby(_groups(frame, keys), sort=False, dropna=False)[metric].var(ddof=1).dropna()
  return float(np.sqrt(variances.mean())) if len(variances) else math.nan


def _in_stds(effect: float, noise: float) -> float:
  """effect / noise; a gap between seeds that never differ is infinitely many stds, no gap is none."""
  if noise > 0 or math.isnan(noise):
    return effect / noise
  return math.inf if effect > 0 else 0.0


def component_effects(
  frame: pd.DataFrame,
  metric: str,
  *,
  by: Sequence[str] | None = None,
  replicate_keys: Sequence[str] = REPLICATE_KEYS,
  higher_is_better: bool | None = None,
) -> pd.DataFrame:
  """Which ablated component matters: per variant key, its best and worst value and the gap between them.

  Each value's mean runs over every run that has it (the other components and the replicates
  vary within it). `effect` is best minus worst mean (in the metric's better direction, so never
  negative); `replicate_std` is the spread between seeds of one variant (pooled, ddof=1), and
  `effect_in_stds` how many such spreads the gap is; `p_value` is Welch's t-test between the runs of the
  best and the worst value (NaN with fewer than 2 runs on a side). Rows: the strongest component first.
  """
  from scipy import stats as scipy_stats

  _check_metrics(frame, [metric])
  keys = variant_keys(frame, by, replicate_keys)
  if not keys:
    raise ValueError("The sweep varies replicate keys only: there is no component to compare.")
  frame = without_diverged(frame)
  done = frame[np.isfinite(frame[metric].astype("float64"))]
  lower = lower_is_better(metric) if higher_is_better is None else not higher_is_better
  noise = _pooled_std(done, metric, keys)
  rows = []
  for key in keys:
    means = done.groupby(key, sort=False)[metric].mean()
    best, worst = (means.idxmin(), means.idxmax()) if lower else (means.idxmax(), means.idxmin())
    effect = abs(means[best] - means[worst])
    sides = [done.loc[done[key] == value, metric].astype("float64") for value in (best, worst)]
    p_value = (
      scipy_stats.ttest_ind(*sides, equal_var=False).pvalue if min(map(len, sides)) >= 2 and best != worst else math.nan
    )
    rows.append(
      {
        "component": key,
        "values": len(means),
        "best": best,
        "worst": worst,
        "effect": effect,
        "replicate_std": noise,
        "effect_in_stds": _in_stds(effect, noise),
        "p_value": float(p_value),
      }
    )
  return pd.DataFrame(rows).sort_values("effect_in_stds", ascending=False, ignore_index=True)
