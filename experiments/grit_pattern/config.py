"""GRIT on PATTERN: Ma et al., "Graph Inductive Biases in Transformers without Message Passing" (ICML 2023).

Table 2: GRIT reaches 87.196 ± 0.076 class-averaged test accuracy on PATTERN
(4 seeds, test score at the best-validation epoch; 477,953 parameters by a
recount of the official code).

    python -m experiments.run --config=experiments/grit_pattern/config.py
    python -m experiments.run --config=experiments/grit_pattern/config.py:smoke
    python -m experiments.grit_pattern.reproduce [--quick]

Hyperparameters are those of the official configs/GRIT/pattern-GRIT-RRWP.yaml:
10 GRIT layers of width 64, 8 heads, attention dropout 0.2, BatchNorm, RRWP
with 21 steps (I, M, ..., M^20; computed in the model on each batch, as the
official README advises for memory), LinearNode features, DummyEdge, GraphGym
head with 3 layers and one logit, class-weighted loss; AdamW (lr 5e-4, weight
decay 1e-5), gradient clipping at norm 1, batch 32, 100 epochs with a cosine
schedule after 5 warmup epochs, stepped once per epoch.
"""

from __future__ import annotations

import ml_collections

from configs import args as config_args
from configs import graph_budgets, graphgps, protocols, sweeps

PAPER_SEEDS = (0, 1, 2, 3)  # the official run scripts' seeds


def model_config(smoke: bool) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(
    dict(
      name="grit",
      hidden_dim=16 if smoke else 64,
      num_layers=2 if smoke else 10,
      num_heads=4 if smoke else 8,
      out_dim=1,
      node_in_dim=3,
      rrwp_steps=21,
      dropout=0.0,
      attn_dropout=0.2,
      batch_norm=True,
      layer_norm=False,
      head="node",
      head_layers=3,
    )
  )


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  a = config_args.parse_arg(arg, smoke=False, seed=PAPER_SEEDS[0], epochs=100, warmup_epochs=5, graphs_per_pack=32)
  c = graphgps.graphgps_config(
    task="node_classification",
    model=model_config(a["smoke"]),
    data_name="pattern",
    variant="full",
    batch_size=32,
    learning_rate=5e-4,
    weight_decay=1e-5,
    epochs=a["epochs"],
    warmup_epochs=a["warmup_epochs"],
    seed=a["seed"],
    workdir=f"runs/grit_pattern/seed{a['seed']}",
  )
  graph_budgets.set_sbm_budgets(c.data, "pattern", a["graphs_per_pack"])
  if a["smoke"]:
    graphgps.make_sbm_smoke(c, graphs_per_pack=2, batch_size=4, total_steps=4, workdir="runs/grit_pattern/smoke")
  return c


def get_sweep(name: str = "") -> list[dict[str, object]]:
  """The runs of sweep `name` (`python -m experiments.sweep --sweep=NAME`).

  seeds  Table 2's PATTERN entry over the 4 seeds (the default and only sweep)

  GRIT's ablations are on ZINC; experiments/grit_zinc sweeps the one this model can express.
  """
  return sweeps.select(name, {"seeds": sweeps.product({"seed": PAPER_SEEDS})})


def get_protocol() -> dict[str, object]:
  """Table 2's PATTERN entry as `python -m experiments.grit_pattern.reproduce` measures it: the class-averaged test
  accuracy at the best-validation epoch.
  """
  return protocols.over_seeds(
    protocols.SBM_ACCURACY,
    row="GRIT (RRWP)",
    paper="grit",
    match={"model": "GRIT", "dataset": "PATTERN"},
    seeds=PAPER_SEEDS,
    quick_epochs=12,
    quick_warmup_epochs=1,
  )
