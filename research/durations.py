"""Durations as the console shows them: `1h02m`, `3m05s`, `?` when unknown."""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
  """`1h02m` from an hour up, `3m05s` below it; `?` for an unknown (non-finite) duration."""
  if not math.isfinite(seconds):
    return "?"
  minutes, secs = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def eta(done: int, total: int, elapsed: float) -> str:
  """The time left for `total - done` more units at the pace of the `done` ones so far (`?` before the first)."""
  return format_duration(elapsed / done * (total - done)) if done else "?"
