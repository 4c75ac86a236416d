"""A pool job that behaves like a training run on SIGTERM (see test_reproduction.py)."""

from __future__ import annotations

import os
import signal
import time


def sleep_until_sigterm(pid_file: str) -> None:
  """Writes this process's pid, then sleeps; SIGTERM raises SystemExit(143) as the trainer's Preempted does."""

  def stop(signum, frame):
    raise SystemExit(143)

  signal.signal(signal.SIGTERM, stop)
  with open(pid_file + ".tmp", "w") as f:
    f.write(str(os.getpid()))
  os.replace(pid_file + ".tmp", pid_file)
  time.sleep(120)
