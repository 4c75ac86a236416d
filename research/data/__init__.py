"""Datasets (TFDS builders, one folder each) and the input pipelines that the trainer asks for by name."""

from __future__ import annotations

from collections.abc import Callable

import ml_collections

from research.data.pipeline import Pipeline

PipelineFactory = Callable[..., Pipeline]
_PIPELINES: dict[str, PipelineFactory] = {}


def register_pipeline(name: str) -> Callable[[PipelineFactory], PipelineFactory]:
  def add(factory: PipelineFactory) -> PipelineFactory:
    _PIPELINES[name] = factory
    return factory

  return add


def build_pipeline(
    config: ml_collections.ConfigDict, *, seed: int, train_rows: tuple[int, int], eval_rows: tuple[int, int]
) -> Pipeline:
  """The pipeline named by `config.name`, feeding this process's rows of each global batch."""
  from research.data import diagram_graphs, graph_datasets, layout_datasets  # noqa: F401  (register their pipelines)

  if config.name not in _PIPELINES:
    raise ValueError(f"Unknown dataset config.data.name={config.name!r}; known datasets: {sorted(_PIPELINES)}.")
  return _PIPELINES[config.name](config, seed=seed, train_rows=train_rows, eval_rows=eval_rows)


def prepare_dataset(config: ml_collections.ConfigDict) -> None:
  """Builds the dataset that `config` (a config.data) names, once (layout, diagram-graph or graph datasets)."""
  from research.data import diagram_graphs, graph_datasets, layout_datasets

  if config.name in layout_datasets.NAMES:
    layout_datasets.prepare_dataset(config)
  elif config.name == diagram_graphs.NAME:
    diagram_graphs.prepare_dataset(config)
  else:
    graph_datasets.prepare_dataset(config)
