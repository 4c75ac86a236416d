"""The local launcher: a sweep's unfinished runs as `python -m experiments.run` processes, N at a time.

Finished runs (final.json present) are skipped; an interrupted run resumes from
its latest checkpoint, since rerunning a workdir's command resumes it. Each run's
output goes to `<sweep_dir>/logs/<run>.log`. If the launcher dies, its runs get
SIGTERM (they save a checkpoint and exit), so rerunning the same command goes on
where the sweep stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from research.sweep import spec
from research.sweep.workers import eta, stop_with_parent


@dataclasses.dataclass
class _Running:
  run: spec.Run
  process: subprocess.Popen
  log_path: str
  started: float


@dataclasses.dataclass
class Outcome:
  """What one launch did: runs skipped as finished, run to the end, and failed (with their logs)."""

  skipped: list[str]
  finished: list[str]
  failed: dict[str, str]  # run name -> log path


def log_path(sweep: spec.Sweep, run: spec.Run) -> str:
  return os.path.join(sweep.directory, "logs", f"{run.name}.log")


def _last_step(workdir: str) -> int:
  """The last step the run logged to metrics.jsonl (0 before its first line), for the progress line."""
  try:
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      lines = f.read().splitlines()
  except OSError:
    return 0
  return json.loads(lines[-1])["step"] if lines else 0


def _start(sweep: spec.Sweep, run: spec.Run, python: str) -> _Running:
  path = log_path(sweep, run)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "ab") as log:
    process = subprocess.Popen([python, *sweep.run_args(run)], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=stop_with_parent,
                               start_new_session=True)  # Ctrl-C reaches the launcher, which stops the runs cleanly
  return _Running(run, process, path, time.time())


def prepare_data(sweep: spec.Sweep, runs: list[spec.Run], print_fn: Callable[[str], None]) -> None:
  """Builds each dataset the runs read once, here, so that parallel runs never build one at the same time."""
  from research import data

  seen = set()
  for run in runs:
    data_config = sweep.configs[run.name].data
    key = data_config.to_json(sort_keys=True)
    if key not in seen:
      seen.add(key)
      print_fn(f"Preparing {data_config.name} ({data_config.get('variant', '')}) ...")
      data.prepare_dataset(data_config)


def _tail(path: str, lines: int = 5) -> str:
  with open(path, errors="replace") as f:
    return "".join(f.readlines()[-lines:])


def _progress(sweep: spec.Sweep, running: list[_Running], done: int, to_do: int, elapsed: float) -> str:
  """`[done/to do] running: <run> step <last logged step>, ... | ETA`."""
  now_running = ", ".join(f"{r.run.name} step {_last_step(sweep.workdir(r.run))}" for r in running)
  return f"[{done}/{to_do}] running: {now_running or '-'} | ETA {eta(done, to_do, elapsed)}"


def run_local(sweep: spec.Sweep, *, parallel: int, python: str = sys.executable,
              print_fn: Callable[[str], None] = print, poll_seconds: float = 0.5,
              progress_seconds: float = 60.0) -> Outcome:
  """Runs the sweep's unfinished runs, `parallel` at a time; SIGTERM/SIGINT stop them cleanly.

  Prints a line when a run ends, and the running runs' steps every `progress_seconds` in between.
  """
  if parallel < 1:
    raise ValueError(f"--parallel={parallel}; run at least 1 at a time.")
  pending = list(spec.pending_runs(sweep))
  outcome = Outcome(skipped=[r.name for r in sweep.runs if r not in pending], finished=[], failed={})
  resuming = [r.name for r in pending if os.path.isdir(os.path.join(sweep.workdir(r), "checkpoints"))]
  print_fn(f"Sweep {sweep.name or 'default'} of {sweep.config_flag}: {len(sweep.runs)} runs in {sweep.directory}; "
           f"{len(outcome.skipped)} finished already, {len(pending)} to run ({len(resuming)} resume), "
           f"{parallel} at a time.")
  prepare_data(sweep, pending, print_fn)
  running: list[_Running] = []
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
      done = len(outcome.finished) + len(outcome.failed)
      to_do = done + len(pending) + len(running)
      if time.time() - last_line > progress_seconds:
        print_fn(_progress(sweep, running, done, to_do, time.time() - start))
        last_line = time.time()
      for r in [r for r in running if r.process.poll() is not None]:
        running.remove(r)
        if r.process.returncode == 0 and spec.is_finished(sweep.workdir(r.run)):
          outcome.finished.append(r.run.name)
          status = f"finished in {time.time() - r.started:.0f} s"
        else:
          outcome.failed[r.run.name] = r.log_path
          status = f"FAILED (exit {r.process.returncode}); log {r.log_path}:\n{_tail(r.log_path)}"
        done += 1
        print_fn(f"{r.run.name} {status}\n" + _progress(sweep, running, done, to_do, time.time() - start))
        last_line = time.time()
  finally:
    for s, h in handlers.items():
      signal.signal(s, h)
  return outcome
