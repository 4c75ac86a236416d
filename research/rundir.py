"""The run directory contract shared by the trainer, the sweep launcher and the analysis.

- One owner at a time: `hold(directory)` takes an exclusive lock (`<directory>/.lock`, an flock
  released by the kernel when the holder exits, even on kill -9); a second holder is refused with
  one line naming the holder's pid and host. Process 0 of a run holds its workdir for the run's
  whole life; the sweep launcher holds its sweep directory.
- Atomic files: `write_json` writes a temporary file in the same directory and renames it, so a
  reader sees the old file or the new one, never half of one.
- final.json says how the run ended: `status` is "complete" or "diverged". A run counts as
  finished only when its final.json parses and says "complete"; a diverged run is terminal (a
  rerun would diverge again) but never averaged into a table.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping
from typing import Any

from research.errors import WorkdirError

LOCK_FILE = ".lock"
FINAL = "final.json"
CONFIG = "config.json"

COMPLETE = "complete"  # final.json: the run trained to its end with finite metrics
DIVERGED = "diverged"  # final.json: the run stopped on non-finite steps or ended with non-finite metrics
INCOMPLETE = "incomplete"  # started (files exist) but no valid final.json
NOT_STARTED = "not started"


def _read_umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


_UMASK = _read_umask()  # read once, at import: os.umask can only be read by setting it


def _holder(handle) -> str:
  handle.seek(0)
  text = handle.read().strip()
  return text or "an unknown process"


@contextlib.contextmanager
def hold(directory: str, what: str = "run") -> Iterator[None]:
  """Holds `directory` (created if missing) exclusively while the block runs.

  Raises WorkdirError at once if another process holds it, or if the directory cannot be written.
  """
  try:
    os.makedirs(directory, exist_ok=True)
    handle = open(os.path.join(directory, LOCK_FILE), "a+")
  except OSError as e:
    raise WorkdirError(
      f"Cannot write the {what} directory {directory!r} ({e.strerror}); pass a directory you can write to."
    ) from e
  with handle:
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      raise WorkdirError(
        f"{directory} is in use by another {what}: {_holder(handle)}. Wait for it to end, or pass another directory."
      ) from None
    try:
      handle.seek(0)
      handle.truncate()
      started = time.strftime("%Y-%m-%d %H:%M:%S")
      handle.write(f"pid {os.getpid()} on host {socket.gethostname()} (since {started})\n")
      handle.flush()
      yield
    finally:
      handle.seek(0)
      handle.truncate()
      fcntl.flock(handle, fcntl.LOCK_UN)


def write_text(path: str, text: str) -> None:
  """Writes `text` to `path` atomically: a temporary file beside it, then a rename."""
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
  try:
    os.fchmod(fd, 0o666 & ~_UMASK)  # the mode a plain open() would give, not mkstemp's 0600
    with os.fdopen(fd, "w") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(OSError):
      os.unlink(tmp)
    raise


def write_json(path: str, value: Any) -> None:
  write_text(path, json.dumps(value, indent=2) + "\n")


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  """Nested dicts (config.json, final.json) as dotted keys: {"model": {"pe": "rwse"}} -> {"model.pe": "rwse"}."""
  flat = {}
  for key, value in mapping.items():
    if isinstance(value, Mapping):
      flat.update(flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def read_step_rows(path: str) -> tuple[list[dict[str, Any]], str | None]:
  """The rows of a run's jsonl file (metrics.jsonl, diagnostics.jsonl), one JSON object with a "step" per line,
  and its last line if that one is cut short (a row being written, or one a kill cut off), else None.

  A malformed line before the last is a WorkdirError naming the file and the line.
  """
  with open(path) as f:
    lines = f.readlines()
  rows = []
  for number, line in enumerate(lines, 1):
    if not line.strip():
      continue
    try:
      row = json.loads(line)
    except json.JSONDecodeError as e:
      if number == len(lines):
        return rows, line
      raise WorkdirError(
        f"{path}, line {number}: not valid JSON ({e.msg}): {line.strip()[:80]!r}. Each line must be "
        "one JSON object; fix or delete that line."
      ) from e
    if not isinstance(row, dict) or "step" not in row:
      raise WorkdirError(f'{path}, line {number}: expected a JSON object with a "step", got {line.strip()[:80]!r}.')
    rows.append(row)
  return rows, None


def read_final(workdir: str) -> dict[str, Any] | None:
  """final.json of `workdir`, or None if it is missing or does not parse (a half-written file)."""
  try:
    with open(os.path.join(workdir, FINAL)) as f:
      final = json.load(f)
  except (OSError, json.JSONDecodeError):
    return None
  return final if isinstance(final, dict) else None


def final_status(final: dict[str, Any]) -> str:
  """How a run whose final.json reads `final` ended (files from before statuses existed: complete)."""
  return final.get("status", COMPLETE)


def status(workdir: str) -> str:
  """complete, diverged, incomplete (started, no valid final.json) or not started."""
  final = read_final(workdir)
  if final is not None:
    return final_status(final)
  started = os.path.isdir(workdir) and any(
    os.path.exists(os.path.join(workdir, name)) for name in (CONFIG, "metrics.jsonl", "checkpoints")
  )
  return INCOMPLETE if started else NOT_STARTED


def is_finished(workdir: str) -> bool:
  """The run trained to its end: final.json parses and says complete."""
  return status(workdir) == COMPLETE


def is_done(workdir: str) -> bool:
  """The run reached an end (complete or diverged): running it again would not change it."""
  return status(workdir) in (COMPLETE, DIVERGED)
