"""Run-directory outputs: metrics.jsonl, diagnostics.jsonl, TensorBoard events, console progress."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping

import jax
import numpy as np
import tensorboardX

from research import rundir
from research.durations import format_duration

log = logging.getLogger("research.train")


def _truncate_jsonl(path: str, max_step: int) -> None:
  """Drops lines logged after `max_step` (by a run killed after its last checkpoint), and a cut-short last
  line with a warning naming the file."""
  if not os.path.exists(path):
    return
  rows, cut_short = rundir.read_step_rows(path)
  if cut_short is not None:
    log.warning("%s: its last line is cut short (%r); dropped it.", path, cut_short.strip()[:80])
  rundir.write_text(path, "".join(json.dumps(row) + "\n" for row in rows if row["step"] <= max_step))


class RunWriter:
  """Appends to the run's jsonl files and TensorBoard; only process 0 writes."""

  def __init__(self, workdir: str, start_step: int):
    self.enabled = jax.process_index() == 0
    self.workdir = workdir
    if not self.enabled:
      return
    os.makedirs(workdir, exist_ok=True)
    for name in ("metrics.jsonl", "diagnostics.jsonl"):
      _truncate_jsonl(os.path.join(workdir, name), start_step)
    self._metrics = open(os.path.join(workdir, "metrics.jsonl"), "a")
    self._diagnostics = open(os.path.join(workdir, "diagnostics.jsonl"), "a")
    self._tb = tensorboardX.SummaryWriter(
      os.path.join(workdir, "tb"), purge_step=start_step + 1 if start_step else None
    )

  def _write(self, stream, step: int, scalars: Mapping[str, float], tb_prefix: str = "") -> None:
    row = {"step": int(step), **{k: float(v) for k, v in scalars.items()}}
    stream.write(json.dumps(row) + "\n")
    stream.flush()
    for key, value in row.items():
      if key != "step" and np.isfinite(value):
        self._tb.add_scalar(tb_prefix + key, value, step)

  def metrics(self, step: int, scalars: Mapping[str, float]) -> None:
    if self.enabled:
      self._write(self._metrics, step, scalars)

  def diagnostics(self, step: int, scalars: Mapping[str, float]) -> None:
    if self.enabled:
      self._write(self._diagnostics, step, scalars, tb_prefix="diagnostics/")

  def close(self) -> None:
    if self.enabled:
      self._metrics.close()
      self._diagnostics.close()
      self._tb.close()


class Progress:
  """Console line with step rate, examples/s and ETA."""

  def __init__(self, start_step: int, total_steps: int, batch_size: int):
    self.total_steps = total_steps
    self.batch_size = batch_size
    self._last_step, self._last_time = start_step, time.perf_counter()

  def restart_clock(self, step: int) -> None:
    """Excludes time spent outside training steps (evaluation) from the rate."""
    self._last_step, self._last_time = step, time.perf_counter()

  def line(self, step: int, scalars: Mapping[str, float]) -> str:
    now = time.perf_counter()
    rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
    self._last_step, self._last_time = step, now
    eta = (self.total_steps - step) / rate if rate > 0 else float("inf")
    shown = " ".join(f"{k}={v:.4g}" for k, v in scalars.items())
    return (
      f"step {step}/{self.total_steps} ({100 * step / self.total_steps:.0f}%) | {rate:.1f} steps/s "
      f"{rate * self.batch_size:.0f} ex/s | ETA {format_duration(eta)} | {shown}"
    )
