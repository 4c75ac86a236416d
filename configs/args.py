"""Parsing of the `config.py:key=value,...` argument that every experiment config accepts."""

from __future__ import annotations

import ast
import difflib
from typing import Any


def parse_arg(arg: str, **defaults: Any) -> dict[str, Any]:
  """Parses 'smoke,seed=3,model=gt' against typed defaults.

  A bare word `w` means `w=True`. Unknown keys and values of the wrong type fail
  with a message naming the key, before any compute.
  """
  values = dict(defaults)
  for item in filter(None, (s.strip() for s in arg.split(","))):
    key, sep, raw = item.partition("=")
    key = key.strip()
    if key not in defaults:
      near = difflib.get_close_matches(key, defaults, n=1, cutoff=0.6)
      hint = f" Did you mean {near[0]!r}?" if near else ""
      raise ValueError(
        f"Unknown config argument {key!r} in {arg!r}.{hint} Known arguments: {', '.join(sorted(defaults))}."
      )
    values[key] = _coerce(key, raw.strip() if sep else "True", type(defaults[key]))
  return values


def _coerce(key: str, raw: str, kind: type) -> Any:
  if kind is str:
    return raw
  try:
    value = ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    value = raw
  if kind is float and isinstance(value, int) and not isinstance(value, bool):
    value = float(value)
  if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
    raise TypeError(f"Config argument {key}={raw!r} must be of type {kind.__name__}.")
  return value
