"""The papers' reported numbers: `papers/<paper>.yaml`, each with its tables (mean ± std) and their sources.

    paper_number("graphgps", "benchmarking_gnns", model="GPS", dataset="PATTERN")  # PaperNumber(86.685, 0.059, ...)

In a checkout the files are the top-level `papers/` beside `research/`; setup.py installs them as the
package data `research/papers/`, so that an installed package (not only an editable one) finds them.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import pathlib
from importlib.resources.abc import Traversable
from typing import Any

import yaml

from research.errors import ConfigError

FOLDER = "papers"


@dataclasses.dataclass(frozen=True)
class PaperNumber:
  mean: float
  std: float
  source: str  # the table it comes from, as the YAML file names it


def papers_dir() -> Traversable:
  """`research/papers/` of an installed package, else the checkout's `papers/` beside `research/`."""
  package = importlib.resources.files("research")
  installed = package / FOLDER
  return installed if installed.is_dir() else pathlib.Path(str(package)).parent / FOLDER


def paper_tables(paper: str) -> dict[str, Any]:
  """The tables of `papers/<paper>.yaml`; a paper without a file is a ConfigError listing the papers."""
  folder = papers_dir()
  file = folder / f"{paper}.yaml"
  if not file.is_file():
    known = sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))
    raise ConfigError(f"No papers/{paper}.yaml (in {folder}); papers: {', '.join(known)}.")
  return yaml.safe_load(file.read_text())["tables"]


def paper_number(paper: str, table: str, **match: Any) -> PaperNumber:
  """The row of `papers/<paper>.yaml` table `table` whose fields equal `match`."""
  tables = paper_tables(paper)
  if table not in tables:
    raise ConfigError(f"papers/{paper}.yaml has no table {table!r}; its tables: {', '.join(tables)}.")
  rows = [r for r in tables[table]["rows"] if all(r.get(k) == v for k, v in match.items())]
  if len(rows) != 1:
    raise ConfigError(f"papers/{paper}.yaml table {table!r}: {len(rows)} rows match {match}, expected 1.")
  return PaperNumber(float(rows[0]["mean"]), float(rows[0]["std"]), tables[table]["source"])
