"""Orbax checkpoints of the train state: periodic, final, on preemption, and the best one.

Restoring always goes through an abstract target that carries the *current*
shardings, so a run resumes onto a different mesh. A checkpoint that fails to
restore (partial or corrupt) is moved aside, never deleted, into
`<directory>.unrestorable/<step>-<time>/` with a warning naming it, and the
previous one is tried; so orbax, which saves no step at or below its newest, saves
at every step again. Temporary directories of saves that a crash interrupted are
cleaned up by orbax when the manager opens.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from typing import Any

import jax
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

log = logging.getLogger("research.train")

UNRESTORABLE_SUFFIX = ".unrestorable"


class Checkpoints:
  """An orbax CheckpointManager over `directory`, restoring the newest checkpoint that restores."""

  def __init__(self, directory: str, *, keep: int, every_steps: int = 0):
    self.directory = os.path.abspath(directory)  # orbax needs absolute paths
    self.manager = ocp.CheckpointManager(
      self.directory,
      options=ocp.CheckpointManagerOptions(
        max_to_keep=keep,
        save_interval_steps=max(every_steps, 1),
        create=True,
        enable_async_checkpointing=True,
        cleanup_tmp_directories=True,
      ),
    )
    self.moved_aside: list[str] = []  # unrestorable checkpoints moved aside by restore_latest

  def save(self, step: int, state: Any, *, force: bool = False) -> bool:
    """Saves `state` as `step` (when due, or always with `force`); a step already saved is left as it is."""
    if self.manager.latest_step() == step:  # e.g. SIGTERM right after the periodic checkpoint of this step
      return False
    return self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state)), force=force)

  def restore_latest(self, abstract_state: Any) -> tuple[int, Any] | None:
    """The newest checkpoint that restores, as (step, state); None if there is none.

    Each newer one that fails is moved aside first (see the module docstring).
    """
    for step in sorted(self.manager.all_steps(), reverse=True):
      try:
        restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
      except Exception as error:  # orbax raises many types for truncated/corrupt files
        self._move_aside(step, error)
        continue
      return step, restored.state
    return None

  def _move_aside(self, step: int, error: Exception) -> None:
    target = os.path.join(self.directory + UNRESTORABLE_SUFFIX, f"{step}-{time.strftime('%Y%m%d-%H%M%S')}")
    if jax.process_index() == 0:
      os.makedirs(os.path.dirname(target), exist_ok=True)
      shutil.move(os.path.join(self.directory, str(step)), target)
    if jax.process_count() > 1:
      multihost_utils.sync_global_devices(f"checkpoint {step} moved aside")
    self.manager.reload()
    self.moved_aside.append(target)
    reason = f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"
    log.warning(
      "Checkpoint at step %d in %s could not be restored (%s); moved it aside to %s and trying the previous one.",
      step,
      self.directory,
      reason,
      target,
    )

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def abstract_with_shardings(state: Any, shardings: Any) -> Any:
  """ShapeDtypeStructs of `state` carrying `shardings` (the restore target)."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), state, shardings)
