"""final.json fixtures written by hand: a complete run's, a diverged run's, and one cut short by a crash."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any


def final_report(
  *,
  status: str = "complete",
  step: int = 20,
  final: Mapping[str, float] | None = None,
  best: Mapping[str, float] | None = None,
  **extra: Any,
) -> dict[str, Any]:
  """final.json as the trainer writes it."""
  return {
    "status": status,
    "step": step,
    "total_steps": step,
    "final": dict(final or {}),
    "best": dict(best) if best else None,
    "num_params": 100,
    "wall_time_s": 2.5,
    "train_time_s": 2.0,
    "devices": 1,
    **extra,
  }


def write_final(workdir: str | os.PathLike, report: Mapping[str, Any]) -> pathlib.Path:
  path = pathlib.Path(workdir, "final.json")
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps(report, indent=2))
  return path


def write_diverged(workdir: str | os.PathLike, reason: str = "non-finite loss at step 3") -> pathlib.Path:
  """A run that stopped on non-finite steps: final.json says diverged, and why."""
  return write_final(
    workdir, final_report(status="diverged", reason=reason, step=3, final={"test/accuracy": float("nan")})
  )


def write_cut_final(workdir: str | os.PathLike) -> pathlib.Path:
  """The first half of a final.json, as a crash during a non-atomic write leaves it."""
  path = write_final(workdir, final_report(final={"test/accuracy": 0.5}))
  text = path.read_text()
  path.write_text(text[: len(text) // 2])
  return path
