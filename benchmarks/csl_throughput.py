"""Training throughput of the CSL configs: steps/s, examples/s and time waiting for input.

    python -m benchmarks.csl_throughput [--steps=500] [--variants=gated_gcn:lap,gt:lap,gated_gcn:none]

Drives the trainer's own jitted step and input pipeline for `--steps` steps after a
warm-up (compilation excluded). Reports the share of wall time the loop was blocked
waiting for the next batch (target: under 5%), and, for context, the same steps on
one batch held on the device: the difference is what the input pipeline costs
in all (on a CPU it also competes with the step for cores).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import jax

from experiments.benchmarking_gnns_csl import config as csl_config
from research.data import csl
from research.train import Trainer

WARMUP_STEPS = 20


def measure(model: str, pe: str, steps: int, data_dir: str) -> dict[str, float]:
  config = csl_config.get_config(f"model={model},pe={pe}")
  config.data.data_dir = data_dir
  with tempfile.TemporaryDirectory() as workdir:
    trainer = Trainer(config, workdir)
    state, rng_state = trainer.init_state()
    batches = trainer._batches(0)
    for _ in range(WARMUP_STEPS):
      batch, _ = next(batches)
      state, out = trainer.train_step(state, batch, rng_state)
    jax.block_until_ready(out["loss"])
    waited, start = 0.0, time.perf_counter()
    for _ in range(steps):
      batch, wait = next(batches)
      waited += wait
      state, out = trainer.train_step(state, batch, rng_state)
    jax.block_until_ready(out["loss"])
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
      state, out = trainer.train_step(state, batch, rng_state)
    jax.block_until_ready(out["loss"])
    fixed_seconds = time.perf_counter() - start
    trainer.checkpoints.close()
  return {
    "steps_per_s": steps / seconds,
    "examples_per_s": steps * config.data.batch_size / seconds,
    "ms_per_step": 1e3 * seconds / steps,
    "input_wait_pct": 100 * waited / seconds,
    "fixed_batch_ms_per_step": 1e3 * fixed_seconds / steps,
    "params": trainer.num_params(),
  }


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--steps", type=int, default=500)
  parser.add_argument("--variants", default="gated_gcn:lap,gated_gcn:none,gt:lap")
  parser.add_argument(
    "--data_dir", default=os.environ.get("TFDS_DATA_DIR", os.path.expanduser("~/tensorflow_datasets"))
  )
  args = parser.parse_args()
  csl.prepare(args.data_dir)
  print(
    f"device: {jax.devices()[0].device_kind} × {jax.device_count()}, batch 5 graphs of 41 nodes, {args.steps} steps"
  )
  print(
    f"{'variant':<16} {'params':>8} {'steps/s':>9} {'examples/s':>11} {'ms/step':>8} {'input wait':>11} "
    f"{'ms/step, one batch on device':>29}"
  )
  for variant in args.variants.split(","):
    model, pe = variant.split(":")
    r = measure(model, pe, args.steps, args.data_dir)
    print(
      f"{variant:<16} {r['params']:>8} {r['steps_per_s']:>9.1f} {r['examples_per_s']:>11.0f} "
      f"{r['ms_per_step']:>8.2f} {r['input_wait_pct']:>10.1f}% {r['fixed_batch_ms_per_step']:>29.2f}"
    )


if __name__ == "__main__":
  main()
