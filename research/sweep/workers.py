"""Training runs in worker processes that die with their parent, and the ETA of a batch of runs.

Used by the local sweep launcher (subprocesses) and the reproduce scripts (a process pool):
a worker gets SIGTERM when its parent dies, so its run saves a checkpoint and rerunning the
same command resumes it.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from research.durations import eta  # noqa: F401  (the launcher's progress lines)

_parent_pid: int | None = None  # set in each worker by stop_with_parent


def stop_with_parent() -> None:
  """Worker initializer: SIGTERM the worker when its parent dies (Linux), so that a
  training run saves a checkpoint and a rerun of the script resumes it."""
  global _parent_pid
  _parent_pid = os.getppid()
  try:
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
  except (OSError, AttributeError):
    pass


def call_in_worker(fn: Callable[..., Any], *args: Any) -> Any:
  """fn(*args) in a pool worker; if the parent died meanwhile, the worker then exits.

  Without this, a worker whose run stopped on the parent's death would wait, asleep,
  for work from a queue that no process feeds any more.
  """
  try:
    return fn(*args)
  finally:
    if _parent_pid is not None and os.getppid() != _parent_pid:
      os._exit(143)  # 128 + SIGTERM, as the run itself reports


def run_in_workers(
    fn: Callable[..., Any], jobs: Sequence[tuple], parallel: int
) -> Iterator[tuple[tuple, Any]]:
  """Yields (job, fn(*job)) as runs finish, `parallel` spawned worker processes at a time.

  `fn` must be importable (a module-level function). Each worker dies with this
  process (see `stop_with_parent` and `call_in_worker`).
  """
  context = multiprocessing.get_context("spawn")
  with concurrent.futures.ProcessPoolExecutor(parallel, mp_context=context, initializer=stop_with_parent) as pool:
    futures = {pool.submit(call_in_worker, fn, *job): job for job in jobs}
    for future in concurrent.futures.as_completed(futures):
      yield futures[future], future.result()
