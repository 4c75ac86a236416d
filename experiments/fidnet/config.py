"""FIDNetV3, the feature network of the layout FID, trained per dataset as LayoutDM trains it.

LayoutDM (Inoue et al., CVPR 2023) compares generated and real layouts by the
Fréchet distance of FIDNetV3 features (research/layout/fid.py), with one
network per dataset and maximum length; its src/trainer/trainer/fid/train.py
trains it with Adam at 3e-4, batch 64, for 200,000 iterations, on layouts of
which half got box noise (std 0.05), elements in raster order, keeping the
checkpoint of lowest evaluation loss. This config does the same for

    dataset=synthetic_diagrams  the procedural diagrams (12 element types, at most 50 elements; default)
    dataset=rico25              RICO, LayoutDM's 25 labels, at most 25 elements (needs the manual download)
    dataset=publaynet           PubLayNet, 5 labels, at most 25 elements (needs the manual download)

    python -m experiments.run --config=experiments/fidnet/config.py:dataset=synthetic_diagrams
    python -m experiments.run --config=experiments/fidnet/config.py:smoke

Deviation: LayoutDM evaluates (and selects) on the test split; here the
validation split selects and the test split is reported beside it.
Hardware and time: see README.md beside this file.
"""

from __future__ import annotations

import ml_collections

from configs import args as config_args
from configs import base, optimizers, sweeps

SEEDS = (0, 1, 2)  # ours: LayoutDM gives no seed protocol for FIDNetV3

# dataset argument -> (config.data.name, TFDS config, number of labels, maximum elements)
DATASETS = {
  "synthetic_diagrams": ("synthetic_diagrams", "full", 12, 50),
  "rico25": ("rico", "rico25-max25", 25, 25),
  "publaynet": ("publaynet", "max25", 5, 25),
}


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  a = config_args.parse_arg(arg, smoke=False, seed=0, dataset="synthetic_diagrams")
  if a["dataset"] not in DATASETS:
    raise ValueError(f"dataset={a['dataset']!r}; choose one of {sorted(DATASETS)}.")
  name, variant, num_labels, max_elements = DATASETS[a["dataset"]]
  c = base.get_base_config()
  c.seed = a["seed"]
  c.task = "layout_fid"
  c.model = ml_collections.ConfigDict(
    dict(
      name="fidnet_v3",
      num_labels=num_labels,
      max_elements=max_elements,
      dim=256,
      num_heads=4,
      num_layers=4,
      dropout=0.1,
    )
  )
  c.data.name, c.data.variant = name, variant
  c.data.manual_dir = ""  # RICO / PubLayNet: the folder holding the released archive
  c.data.max_elements = max_elements
  c.data.order = "raster"  # LayoutDM's LexicographicOrder, after the noise
  c.data.noise_probability = 0.5
  c.data.noise_std = 0.05
  c.data.batch_size = c.data.eval_batch_size = 64
  c.optimizer = optimizers.adam(learning_rate=3e-4)
  c.total_steps = 200_000
  c.eval_every_steps = 5_000
  c.log_every_steps = 500
  c.checkpoint.every_steps = 5_000
  c.diagnostics.every_steps = 500
  c.workdir = f"runs/fidnet/{a['dataset']}"
  if a["smoke"]:
    c.model.update(dim=32, num_layers=2)
    c.data.variant = "tiny" if name == "synthetic_diagrams" else variant
    base.make_smoke(c, batch_size=8, total_steps=8, workdir=f"runs/fidnet/{a['dataset']}_smoke")
  return c


def get_sweep(name: str = "") -> list[dict[str, object]]:
  """The runs of sweep `name` for one dataset of `get_config` (`python -m experiments.sweep --sweep=NAME`).

  seeds  3 initialisation seeds (the default and only sweep)

  LayoutDM trains one FIDNetV3 per dataset and reports neither seeds nor an ablation of it; the 3
  seeds are ours, to show how much the feature network (and so the FID) varies between trainings.
  """
  return sweeps.select(name, {"seeds": sweeps.product({"seed": SEEDS})})
