"""Checkpoints: a corrupt latest checkpoint falls back to the previous one; restore onto another mesh; a step saved twice."""

from __future__ import annotations

import glob
import os

import numpy as np

from experiments.benchmarking_gnns_csl import config as csl_config
from helpers import run_experiment, train_losses
from research.train import Trainer, train_and_evaluate


def test_corrupt_latest_checkpoint_falls_back_to_previous(csl_data_dir, tmp_path, caplog):
  config = csl_config.get_config("smoke,model=gated_gcn")
  config.data.data_dir = csl_data_dir
  config.checkpoint.keep = 3
  train_and_evaluate(config, str(tmp_path))
  steps = sorted(int(d) for d in os.listdir(tmp_path / "checkpoints") if d.isdigit())
  assert steps == [9, 18]
  for path in glob.glob(str(tmp_path / "checkpoints" / "18" / "state" / "**" / "*"), recursive=True):
    if os.path.isfile(path):
      with open(path, "r+b") as f:
        f.truncate(max(os.path.getsize(path) // 3, 1))
  trainer = Trainer(config, str(tmp_path))
  restored = trainer.checkpoints.restore_latest(trainer.restore_target())
  trainer.checkpoints.close()
  assert restored is not None and restored[0] == 9
  assert "step 18" in caplog.text and "could not be restored" in caplog.text


def test_restore_onto_a_different_mesh(csl_data_dir, tmp_path):
  """Train 9 steps on mesh (8), resume on (2,2,2) to 18: same as 18 steps on one device."""
  base = ["--config.data.batch_size=8", "--config.data.eval_batch_size=8", "--config.log_every_steps=1"]
  reference = str(tmp_path / "reference")
  run_experiment("smoke,model=gt", reference, csl_data_dir, base, num_devices=1)
  moved = str(tmp_path / "moved")
  run_experiment("smoke,model=gt", moved, csl_data_dir, base + ["--config.total_steps=9", "--config.mesh.data=8"], num_devices=8)
  run_experiment("smoke,model=gt", moved, csl_data_dir,
                 base + ["--config.mesh.data=2", "--config.mesh.fsdp=2", "--config.mesh.tensor=2"], num_devices=8)
  a, b = train_losses(reference), train_losses(moved)
  assert sorted(b) == list(range(1, 19))
  np.testing.assert_allclose([a[s] for s in range(1, 19)], [b[s] for s in range(1, 19)], rtol=1e-4, atol=1e-5)
  # Parameters are not compared: biases feeding a BatchNorm get ~0 gradients, which Adam
  # normalises to steps of full size, so float-level differences between meshes show there.


def test_saving_a_step_that_is_already_saved_keeps_the_first(tmp_path):
  # SIGTERM right after a periodic checkpoint asks for the same step again (forced).
  from research.train.checkpoint import Checkpoints

  checkpoints = Checkpoints(str(tmp_path / "ckpt"), keep=2, every_steps=3)
  first = {"w": np.arange(4.0)}
  assert checkpoints.save(3, first)
  assert not checkpoints.save(3, {"w": np.zeros(4)}, force=True)
  checkpoints.wait()
  step, state = checkpoints.restore_latest({"w": np.zeros(4)})
  checkpoints.close()
  assert step == 3 and np.array_equal(state["w"], first["w"])
