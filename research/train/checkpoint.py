"""Orbax checkpoints of the train state: periodic, final, on preemption, and the best one.

Restoring always goes through an abstract target that carries the *current*
shardings, so a run resumes onto a different mesh. A latest checkpoint that fails
to restore (partial or corrupt) is reported and the previous one is used.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import jax
import orbax.checkpoint as ocp

log = logging.getLogger("research.train")


class Checkpoints:
  """An orbax CheckpointManager over `directory`, restoring with fallback."""

  def __init__(self, directory: str, *, keep: int, every_steps: int = 0):
    self.manager = ocp.CheckpointManager(
        os.path.abspath(directory),  # orbax needs absolute paths
        options=ocp.CheckpointManagerOptions(
            max_to_keep=keep, save_interval_steps=max(every_steps, 1), create=True, enable_async_checkpointing=True
        ),
    )

  def save(self, step: int, state: Any, *, force: bool = False) -> bool:
    """Saves `state` as `step` (when due, or always with `force`); a step already saved is left as it is."""
    if self.manager.latest_step() == step:  # e.g. SIGTERM right after the periodic checkpoint of this step
      return False
    return self.manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state)), force=force)

  def restore_latest(self, abstract_state: Any) -> tuple[int, Any] | None:
    """The newest checkpoint that restores, as (step, state); None if there is none."""
    for step in sorted(self.manager.all_steps(), reverse=True):
      try:
        restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
      except Exception as error:  # orbax raises many types for truncated/corrupt files
        log.warning("Checkpoint at step %d in %s could not be restored (%s: %s); trying the previous one.",
                    step, self.manager.directory, type(error).__name__, str(error).splitlines()[0][:300])
        continue
      return step, restored.state
    return None

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def abstract_with_shardings(state: Any, shardings: Any) -> Any:
  """ShapeDtypeStructs of `state` carrying `shardings` (the restore target)."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), state, shardings)
