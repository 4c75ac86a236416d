"""The local launcher: a sweep's pending runs as `python -m experiments.run` processes, N at a time.

A run is done once its final.json parses and says complete or diverged (research.rundir): complete
runs are skipped, diverged runs are reported and never rerun (they would diverge again), and every
other run is started; an interrupted one resumes from its latest checkpoint, since rerunning a
workdir's command resumes it. Each run's output goes to `<sweep_dir>/logs/<run>.log`. If the
launcher dies, its runs get SIGTERM (they save a checkpoint and exit), so rerunning the same
command goes on where the sweep stopped. Callers hold the sweep directory (`spec.owned`).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from research import rundir
from research.durations import eta
from research.errors import ConfigError
from research.sweep import spec

FAILED_EXIT = 1  # a launcher's exit code when a run failed
DIVERGED_EXIT = 3  # ... and when a run diverged (and none failed), as the trainer's own for a diverged run


@dataclasses.dataclass
class _Running:
  run: spec.Run
  process: subprocess.Popen
  log_path: str
  started: float


@dataclasses.dataclass
class Outcome:
  """What one launch did with its runs: complete before it started (skipped), run to completion, diverged
  (before or now; not rerun), and failed (run name -> log path)."""

  skipped: list[str] = dataclasses.field(default_factory=list)
  finished: list[str] = dataclasses.field(default_factory=list)
  diverged: list[str] = dataclasses.field(default_factory=list)
  failed: dict[str, str] = dataclasses.field(default_factory=dict)


def check_parallel(parallel: int) -> None:
  """--parallel: at least one run at a time."""
  if parallel < 1:
    raise ConfigError(f"--parallel={parallel}; run at least 1 at a time.")


def failures(outcome: Outcome) -> str:
  """`N run(s) failed: <run> (log <path>), ...`."""
  return f"{len(outcome.failed)} run(s) failed: " + ", ".join(f"{n} (log {p})" for n, p in outcome.failed.items())


def log_path(sweep: spec.Sweep, run: spec.Run) -> str:
  return os.path.join(sweep.directory, "logs", f"{run.name}.log")


def stop_with_parent() -> None:
  """Run process initializer: SIGTERM it when the launcher dies (Linux), so that it saves a checkpoint
  and a rerun of the launcher resumes it."""
  try:
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
  except (OSError, AttributeError):
    pass


def _last_step(workdir: str) -> int:
  """The last step the run logged to metrics.jsonl (0 before its first line), for the progress line.

  A last line still being written does not parse; the line before it counts then."""
  try:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      lines = f.read().splitlines()
  except OSError:
    return 0
  for line in reversed(lines):
    try:
      return json.loads(line)["step"]
    except (json.JSONDecodeError, KeyError, TypeError):
      continue
  return 0


def _start(sweep: spec.Sweep, run: spec.Run, python: str) -> _Running:
  path = log_path(sweep, run)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "ab") as log:
    process = subprocess.Popen(
      [python, *sweep.run_args(run)],
      stdout=log,
      stderr=subprocess.STDOUT,
      env={**os.environ, "PYTHONUNBUFFERED": "1"},
      preexec_fn=stop_with_parent,
      start_new_session=True,
    )  # Ctrl-C reaches the launcher, which stops the runs cleanly
  return _Running(run, process, path, time.time())


def prepare_data(sweep: spec.Sweep, runs: Sequence[spec.Run], print_fn: Callable[[str], None]) -> None:
  """Builds each dataset the runs read once, here, so that parallel runs never build one at the same time."""
  from research import data

  seen = set()
  for run in runs:
    data_config = sweep.configs[run.name].data
    key = tuple(data_config.get(k, "") for k in ("name", "variant", "data_dir", "manual_dir"))  # what is built
    if key not in seen:
      seen.add(key)
      variant = f" ({data_config.variant})" if data_config.get("variant") else ""
      print_fn(f"Preparing {data_config.name}{variant} ...")
      data.prepare_dataset(data_config)


def _tail(path: str, lines: int = 5) -> str:
  with open(path, errors="replace") as f:
    return "".join(f.readlines()[-lines:])


def _progress(sweep: spec.Sweep, running: list[_Running], done: int, to_do: int, elapsed: float) -> str:
  """`[done/to do] running: <run> step <last logged step>, ... | ETA`."""
  now_running = ", ".join(f"{r.run.name} step {_last_step(sweep.workdir(r.run))}" for r in running)
  return f"[{done}/{to_do}] running: {now_running or '-'} | ETA {eta(done, to_do, elapsed)}"


def _diverged_reason(workdir: str) -> str:
  final = rundir.read_final(workdir) or {}
  return final.get("reason") or "no reason given"


def _ended(sweep: spec.Sweep, r: _Running, outcome: Outcome) -> str:
  """Files the ended run under finished, diverged or failed; returns what the console says about it."""
  workdir = sweep.workdir(r.run)
  status = rundir.status(workdir)
  if status == rundir.COMPLETE and r.process.returncode == 0:
    outcome.finished.append(r.run.name)
    return f"finished in {time.time() - r.started:.0f} s"
  if status == rundir.DIVERGED:
    outcome.diverged.append(r.run.name)
    return f"DIVERGED ({_diverged_reason(workdir)}); not rerun; log {r.log_path}"
  outcome.failed[r.run.name] = r.log_path
  return f"FAILED (exit {r.process.returncode}); log {r.log_path}:\n{_tail(r.log_path)}"


def _opening(
  sweep: spec.Sweep, runs: Sequence[spec.Run], outcome: Outcome, pending: Sequence[spec.Run], parallel: int
) -> str:
  resuming = [r for r in pending if os.path.isdir(os.path.join(sweep.workdir(r), "checkpoints"))]
  of_all = f" (of its {len(sweep.runs)})" if len(runs) != len(sweep.runs) else ""
  names = ", ".join(outcome.diverged)
  diverged = f"{len(outcome.diverged)} diverged (not rerun: {names}), " if outcome.diverged else ""
  return (
    f"Sweep {sweep.name or 'default'} of {sweep.config_flag}: {len(runs)} runs{of_all} in {sweep.directory}; "
    f"{len(outcome.skipped)} finished already, {diverged}{len(pending)} to run ({len(resuming)} resume), "
    f"{parallel} at a time."
  )


def run_local(
  sweep: spec.Sweep,
  *,
  parallel: int,
  runs: Sequence[spec.Run] | None = None,
  python: str = sys.executable,
  print_fn: Callable[[str], None] = functools.partial(print, flush=True),  # lines appear at once in a log file
  poll_seconds: float = 0.5,
  progress_seconds: float = 60.0,
) -> Outcome:
  """Runs the pending ones of `runs` (default: every run of the sweep), `parallel` at a time; SIGTERM/SIGINT
  stop them cleanly.

  Prints a line when a run ends, and the running runs' steps every `progress_seconds` in between.
  """
  check_parallel(parallel)
  runs = list(sweep.runs if runs is None else runs)
  pending = spec.pending_runs(sweep, runs)
  outcome = Outcome()
  for run in runs:
    if run not in pending:
      done_list = outcome.skipped if rundir.is_finished(sweep.workdir(run)) else outcome.diverged
      done_list.append(run.name)
  print_fn(_opening(sweep, runs, outcome, pending, parallel))
  prepare_data(sweep, pending, print_fn)
  running: list[_Running] = []
  done, to_do = 0, len(pending)
  start = last_line = time.time()

  def stop(signum, frame):
    for r in running:
      r.process.send_signal(signal.SIGTERM)
    for r in running:
      r.process.wait()
    print_fn(f"Stopped: {len(running)} running run(s) saved a checkpoint; rerun the same command to go on.")
    raise SystemExit(128 + signum)

  handlers = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
  try:
    while pending or running:
      while pending and len(running) < parallel:
        running.append(_start(sweep, pending.pop(0), python))
      time.sleep(poll_seconds)
      if time.time() - last_line > progress_seconds:
        print_fn(_progress(sweep, running, done, to_do, time.time() - start))
        last_line = time.time()
      for r in [r for r in running if r.process.poll() is not None]:
        running.remove(r)
        said = _ended(sweep, r, outcome)
        done += 1
        print_fn(f"{r.run.name} {said}\n" + _progress(sweep, running, done, to_do, time.time() - start))
        last_line = time.time()
  finally:
    for s, h in handlers.items():
      signal.signal(s, h)
  return outcome
