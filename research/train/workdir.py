"""A workdir holds one run of one config.

`claim(workdir, config, adopt_config)` is the first thing a run does, before any data is built:
process 0 takes the workdir's lock (research/rundir.py) for the run's whole life, and compares the
config with the `config.json` of an earlier start. A difference in a key that changes what is
computed (model, data, fold, seed, optimizer, task, ...) refuses the restart with one line listing
the keys; the keys in `RESUMABLE` may change, because they change how long or how the run is
watched, stored or laid out on devices, not what one step computes:

    total_steps, epochs          extend (or shorten) training
    eval_every_steps, log_every_steps, sample_examples
    checkpoint.every_steps, checkpoint.keep
    diagnostics.every_steps, diagnostics.on_nonfinite, diagnostics.max_skipped_steps
    mesh.*, sharding.*           resume onto another device layout (restore reshards)
    data.num_threads, data.prefetch, data.cache, data.data_dir, data.manual_dir
    workdir

With `adopt_config` the run continues under the new config on purpose; the old config.json is
kept beside it as `config.before_<time>.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

import jax
import ml_collections
import numpy as np
from jax.experimental import multihost_utils

from research import rundir
from research.errors import WorkdirError

RESUMABLE = (
  "total_steps",
  "epochs",
  "eval_every_steps",
  "log_every_steps",
  "sample_examples",
  "checkpoint.every_steps",
  "checkpoint.keep",
  "diagnostics.every_steps",
  "diagnostics.on_nonfinite",
  "diagnostics.max_skipped_steps",
  "mesh.*",
  "sharding.*",
  "data.num_threads",
  "data.prefetch",
  "data.cache",
  "data.data_dir",
  "data.manual_dir",
  "workdir",
)


def as_json(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The config as config.json stores it."""
  return json.loads(config.to_json_best_effort(sort_keys=True))


def is_resumable(key: str) -> bool:
  return any(key == k or (k.endswith(".*") and key.startswith(k[:-1])) for k in RESUMABLE)


def changed_keys(stored: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
  """Keys outside RESUMABLE whose values differ: key -> (stored value, new value); absent is None."""
  old, new = rundir.flatten(stored), rundir.flatten(config)
  return {
    key: (old.get(key), new.get(key))
    for key in sorted(set(old) | set(new))
    if old.get(key) != new.get(key) and not is_resumable(key)
  }


def _describe(changes: Mapping[str, tuple[Any, Any]], limit: int = 6) -> str:
  shown = [f"{key} {old!r} -> {new!r}" for key, (old, new) in list(changes.items())[:limit]]
  more = f" and {len(changes) - limit} more" if len(changes) > limit else ""
  return ", ".join(shown) + more


def check_config(workdir: str, config: ml_collections.ConfigDict, adopt_config: bool) -> None:
  """Refuses to continue the run in `workdir` under a config that computes something else."""
  path = os.path.join(workdir, rundir.CONFIG)
  if not os.path.exists(path):
    return
  try:
    with open(path) as f:
      stored = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise WorkdirError(
      f"{path} cannot be read ({e}); it records which config this workdir's run was "
      "started with. Restore it, or pass another --workdir."
    ) from e
  changes = changed_keys(stored, as_json(config))
  if not changes:
    return
  if adopt_config:
    kept = os.path.join(workdir, f"config.before_{time.strftime('%Y%m%d-%H%M%S')}.json")
    os.replace(path, kept)
    return
  raise WorkdirError(
    f"{workdir} holds a run of another config: {_describe(changes)}. Pass another --workdir for the new config, "
    "or --adopt_config to continue this run under it (keys that may change on resume: "
    "research/train/workdir.py RESUMABLE)."
  )


def write_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  if jax.process_index() == 0:
    rundir.write_text(os.path.join(workdir, rundir.CONFIG), config.to_json_best_effort(indent=2, sort_keys=True))


def _agree(error: BaseException | None) -> None:
  """Every process raises process 0's error, so that no process waits for one that stopped."""
  if jax.process_count() == 1:
    if error is not None:
      raise error
    return
  failed = bool(multihost_utils.broadcast_one_to_all(np.asarray(error is not None)))
  if error is not None:
    raise error
  if failed:
    raise WorkdirError("Process 0 could not claim the workdir (its log says why).")


@contextlib.contextmanager
def claim(workdir: str, config: ml_collections.ConfigDict, adopt_config: bool = False) -> Iterator[None]:
  """Holds `workdir` for the block (process 0), after checking that it is writable and of this config."""
  with contextlib.ExitStack() as stack:
    error = None
    if jax.process_index() == 0:
      try:
        stack.enter_context(rundir.hold(workdir, "run"))
        check_config(workdir, config, adopt_config)
      except WorkdirError as e:
        error = e
    _agree(error)
    write_config(config, workdir)
    yield
