"""Model registry: `build_model(name, rngs=..., **kwargs)`."""

from __future__ import annotations

import inspect
from typing import Any

from flax import nnx

from research.errors import ConfigError
from research.models.graph import GPS, GRIT, SAN, Exphormer, GatedGCN, Graphormer, GraphTransformer
from research.models.layout import FIDNetV3

_MODELS: dict[str, type[nnx.Module]] = {
  "exphormer": Exphormer,
  "fidnet_v3": FIDNetV3,
  "gated_gcn": GatedGCN,
  "gps": GPS,
  "graphormer": Graphormer,
  "grit": GRIT,
  "gt": GraphTransformer,
  "san": SAN,
}
MODEL_NAMES: tuple[str, ...] = tuple(sorted(_MODELS))


def build_model(name: str, *, rngs: nnx.Rngs, **kwargs: Any) -> nnx.Module:
  """Builds the model registered as `name` with its constructor kwargs."""
  if name not in _MODELS:
    raise ConfigError(f"Unknown model {name!r}; known models: {', '.join(MODEL_NAMES)}.")
  return _MODELS[name](rngs=rngs, **kwargs)


def check_kwargs(name: str, kwargs: dict[str, Any]) -> None:
  """Fails, naming the keys, if `kwargs` do not fit the constructor of model `name`."""
  if name not in _MODELS:
    raise ConfigError(f"Unknown config.model.name={name!r}; known models: {', '.join(MODEL_NAMES)}.")
  parameters = inspect.signature(_MODELS[name].__init__).parameters
  accepted = {p for p in parameters if p not in ("self", "rngs")}
  required = {
    p
    for p, v in parameters.items()
    if v.default is inspect.Parameter.empty
    and v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD)
    and p not in ("self", "rngs")
  }
  unknown, missing = sorted(set(kwargs) - accepted), sorted(required - set(kwargs))
  if unknown or missing:
    raise ConfigError(
      f"config.model has unknown keys {unknown} and lacks keys {missing} for model {name!r}, "
      f"which takes {sorted(accepted)}."
    )


def register_model(name: str, cls: type[nnx.Module]) -> None:
  """Adds a model class to the registry (for models defined outside research/models)."""
  _MODELS[name] = cls
  global MODEL_NAMES
  MODEL_NAMES = tuple(sorted(_MODELS))
