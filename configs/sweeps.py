"""Building blocks of a config's `get_sweep(name)`: grids of overrides, and named sweeps.

A sweep is a list of override dicts, one per run, keyed by dotted config paths
(`{"model.pe": "rwse", "seed": 3}`). `python -m experiments.sweep` applies each
dict to the config (`config.py:ARG`) and gives the run its own workdir.

    def get_sweep(name: str = "") -> list[dict[str, object]]:
      return sweeps.select(name, {
          "seeds": sweeps.product({"seed": PAPER_SEEDS}),                          # the default: listed first
          "ablation_pe": sweeps.product({"model.pe": ["none", "rwse"], "seed": PAPER_SEEDS}),
      })
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Overrides = dict[str, Any]


def product(axes: Mapping[str, Sequence[Any]]) -> list[Overrides]:
  """Every combination of the axes' values, the last axis varying fastest."""
  keys = list(axes)
  return [dict(zip(keys, values)) for values in itertools.product(*(axes[k] for k in keys))]


def zipped(axes: Mapping[str, Sequence[Any]]) -> list[Overrides]:
  """The i-th value of every axis together; all axes must be equally long."""
  lengths = {key: len(values) for key, values in axes.items()}
  if len(set(lengths.values())) > 1:
    raise ValueError(f"sweeps.zipped needs axes of equal length; got {lengths}.")
  keys = list(axes)
  return [dict(zip(keys, values)) for values in zip(*(axes[k] for k in keys))]


def combine(*parts: Sequence[Overrides]) -> list[Overrides]:
  """The product of several sweeps: each run of the first with each run of the next, and so on."""
  runs: list[Overrides] = [{}]
  for part in parts:
    runs = [{**run, **extra} for run in runs for extra in part]
  return runs


def select(name: str, sweeps: Mapping[str, Sequence[Overrides] | Callable[[], Sequence[Overrides]]]) -> list[Overrides]:
  """The sweep called `name` ("" = the first one listed, the paper's protocol by convention)."""
  if not sweeps:
    raise ValueError("This config defines no sweeps.")
  key = name or next(iter(sweeps))
  if key not in sweeps:
    raise ValueError(f"Unknown sweep {name!r}; this config defines: {', '.join(sweeps)}.")
  chosen = sweeps[key]
  return [dict(run) for run in (chosen() if callable(chosen) else chosen)]
