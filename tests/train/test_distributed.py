"""Sharded and multi-process training give the losses of a single device."""

from __future__ import annotations

import subprocess

import numpy as np
import portpicker
import pytest

from helpers import CSL_CONFIG, REPO, run_command, run_experiment, train_losses

# Batches divisible by 8 devices; a few steps of the smoke model with LapPE (sign flips use the RNG).
OVERRIDES = [
  "--config.data.batch_size=8",
  "--config.data.eval_batch_size=8",
  "--config.total_steps=6",
  "--config.log_every_steps=1",
  "--config.eval_every_steps=6",
  "--config.checkpoint.every_steps=6",
]


def _mesh(data: int, fsdp: int, tensor: int) -> list[str]:
  return [f"--config.mesh.data={data}", f"--config.mesh.fsdp={fsdp}", f"--config.mesh.tensor={tensor}"]


@pytest.fixture(scope="module")
def single_device_losses(csl_data_dir, tmp_path_factory) -> dict[int, float]:
  workdir = str(tmp_path_factory.mktemp("single"))
  run_experiment("smoke,model=gt", workdir, csl_data_dir, OVERRIDES + _mesh(1, 1, 1), num_devices=1)
  return train_losses(workdir)


@pytest.mark.parametrize("mesh", [(8, 1, 1), (4, 2, 1), (2, 2, 2)])
def test_sharded_losses_match_single_device(mesh, single_device_losses, csl_data_dir, tmp_path):
  run_experiment("smoke,model=gt", str(tmp_path), csl_data_dir, OVERRIDES + _mesh(*mesh), num_devices=8)
  losses = train_losses(str(tmp_path))
  assert sorted(losses) == sorted(single_device_losses) == list(range(1, 7))
  np.testing.assert_allclose(
    [losses[s] for s in sorted(losses)], [single_device_losses[s] for s in sorted(losses)], rtol=2e-5, atol=2e-6
  )


def test_two_processes_match_one_process(csl_data_dir, tmp_path):
  """2 processes × 2 devices over loopback train on exactly the batches of 1 process × 4 devices."""
  one = str(tmp_path / "one")
  run_experiment("smoke,model=gated_gcn", one, csl_data_dir, OVERRIDES + _mesh(4, 1, 1), num_devices=4)

  two = str(tmp_path / "two")
  port = portpicker.pick_unused_port()
  procs = []
  for process_id in range(2):
    cmd, env = run_command(2, csl_data_dir)
    cmd += [
      f"--config={CSL_CONFIG}:smoke,model=gated_gcn",
      f"--workdir={two}",
      *OVERRIDES,
      *_mesh(4, 1, 1),
      f"--coordinator_address=127.0.0.1:{port}",
      "--num_processes=2",
      f"--process_id={process_id}",
    ]
    procs.append(subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
  outputs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, out[-5000:]
  a, b = train_losses(one), train_losses(two)
  assert sorted(a) == sorted(b) == list(range(1, 7))
  np.testing.assert_allclose([a[s] for s in sorted(a)], [b[s] for s in sorted(a)], rtol=2e-5, atol=2e-6)
