"""Problem types: each task owns its loss, its evaluation metrics and how a batch feeds the model."""

from __future__ import annotations

from research.errors import ConfigError
from research.tasks.base import Task
from research.tasks.graph_classification import GraphClassification
from research.tasks.graph_regression import GraphRegression
from research.tasks.layout_fid import LayoutFID
from research.tasks.node_classification import NodeClassification

_TASKS: dict[str, type[Task]] = {
  "graph_classification": GraphClassification,
  "graph_regression": GraphRegression,
  "layout_fid": LayoutFID,
  "node_classification": NodeClassification,
}


def check_name(name: str) -> None:
  if name not in _TASKS:
    raise ConfigError(f"Unknown config.task={name!r}; known tasks: {', '.join(sorted(_TASKS))}.")


def get_task(name: str) -> Task:
  check_name(name)
  return _TASKS[name]()
