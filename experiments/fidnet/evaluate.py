"""FIDs from a trained FIDNet: between real splits, and against the same layouts with box noise.

    python -m experiments.fidnet.evaluate --workdir=runs/fidnet/synthetic_diagrams [--dataset=synthetic_diagrams]

Loads the run's best checkpoint (research.train.load_model), extracts the
FIDNet feature of every clean layout of the validation and test splits, and
prints the Fréchet distance (research/layout/fid.py) between
  - validation and test: two real samples, the floor a generator can reach;
  - test and test with N(0, noise_std^2) box noise on every layout (seeded),
    a layout set that is visibly worse: the FID must be clearly larger.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from experiments.fidnet import config as fidnet_config
from research.layout import fid
from research.train import load_model

_features = jax.jit(lambda model, boxes, labels, mask: model.features(boxes, labels, mask))


def split_features(model, pipeline, split: str, noise_std: float = 0.0, seed: int = 0) -> np.ndarray:
  """FIDNet features [N, dim] of the real layouts of `split`, optionally with N(0, noise_std^2) box noise."""
  rng = np.random.default_rng(seed)
  out = []
  for batch in pipeline.eval_batches(split):
    boxes = batch["boxes"] + (rng.normal(0.0, noise_std, batch["boxes"].shape) if noise_std else 0.0)
    f = _features(model, jnp.asarray(boxes, jnp.float32), jnp.asarray(batch["labels"]), jnp.asarray(batch["mask"]))
    out.append(np.asarray(f, np.float64)[batch["example_mask"]])
  return np.concatenate(out)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True, help="the FIDNet run directory")
  parser.add_argument("--dataset", default="synthetic_diagrams", choices=sorted(fidnet_config.DATASETS))
  parser.add_argument("--config_arg", default="", help="extra config arguments the run was trained with, e.g. smoke")
  parser.add_argument("--data_dir", default="", help="TFDS data dir of the run (default: the config's)")
  args = parser.parse_args(argv)
  config = fidnet_config.get_config(",".join(filter(None, [f"dataset={args.dataset}", args.config_arg])))
  config.data.noise_probability = 0.0  # clean layouts; the noise below is explicit
  if args.data_dir:
    config.data.data_dir = args.data_dir
  model, trainer = load_model(config, args.workdir)
  validation, test = (split_features(model, trainer.pipeline, split) for split in ("validation", "test"))
  noisy = split_features(model, trainer.pipeline, "test", noise_std=config.data.noise_std)
  noise_name = f"test vs test with box noise (std {config.data.noise_std})"
  results = {
    "validation vs test": fid.frechet_distance_of_features(validation, test),
    noise_name: fid.frechet_distance_of_features(test, noisy),
  }
  print(f"FIDNet features of {args.workdir}: {len(validation):,} validation and {len(test):,} test layouts")
  print("| layouts compared | FID |\n|---|---:|")
  for name, value in results.items():
    print(f"| {name} | {value:.3f} |")
  return results


if __name__ == "__main__":
  main()
