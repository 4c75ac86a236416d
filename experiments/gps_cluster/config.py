"""GraphGPS on CLUSTER: Rampášek et al., "Recipe for a General, Powerful, Scalable Graph Transformer" (NeurIPS 2022).

Table 2 (Benchmarking GNNs datasets): GPS (GatedGCN + Transformer, LapPE) reaches
78.016 ± 0.180 class-averaged test accuracy on CLUSTER (10 seeds, test score at
the best-validation epoch; 502,054 parameters).

    python -m experiments.run --config=experiments/gps_cluster/config.py
    python -m experiments.run --config=experiments/gps_cluster/config.py:smoke
    python -m experiments.gps_cluster.reproduce [--quick]

Hyperparameters are those of the official configs/GPS/cluster-GPS.yaml: 16 GPS
layers of width 48 (GatedGCN + Transformer, 8 heads, dropout 0.1, attention
dropout 0.5, BatchNorm), node input = [Linear(one-hot of 7 values) (32) ||
LapPE DeepSet (16)] over 10 eigenpairs of the combinatorial Laplacian,
DummyEdge, GraphGym head with 3 layers and 6 classes, class-weighted loss;
AdamW (lr 5e-4, weight decay 1e-5), gradient clipping at norm 1, batch 16, 100
epochs with a cosine schedule after 5 warmup epochs, stepped once per epoch.
"""

from __future__ import annotations

import ml_collections

from configs import args as config_args
from configs import graph_budgets, graphgps, protocols, sweeps

PAPER_SEEDS = tuple(range(10))


def model_config(smoke: bool) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(
    dict(
      name="gps",
      hidden_dim=16 if smoke else 48,
      num_layers=2 if smoke else 16,
      num_heads=8 if not smoke else 4,
      out_dim=6,
      node_in_dim=7,
      edge_in_dim=0,
      local_model="gated_gcn",
      global_model="transformer",
      pe="lap_deepset",
      pe_dim=4 if smoke else 16,
      pe_channels=10,
      pe_layers=2,
      pe_heads=4,
      dropout=0.1,
      attn_dropout=0.5,
      batch_norm=True,
      layer_norm=False,
      head="node",
      head_layers=3,
    )
  )


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  a = config_args.parse_arg(arg, smoke=False, seed=PAPER_SEEDS[0], epochs=100, warmup_epochs=5, graphs_per_pack=16)
  c = graphgps.graphgps_config(
    task="node_classification",
    model=model_config(a["smoke"]),
    data_name="cluster",
    variant="full",
    batch_size=16,
    learning_rate=5e-4,
    weight_decay=1e-5,
    epochs=a["epochs"],
    warmup_epochs=a["warmup_epochs"],
    seed=a["seed"],
    workdir=f"runs/gps_cluster/seed{a['seed']}",
  )
  graph_budgets.set_sbm_budgets(c.data, "cluster", a["graphs_per_pack"])
  if a["smoke"]:
    graphgps.make_sbm_smoke(c, graphs_per_pack=4, batch_size=8, total_steps=6, workdir="runs/gps_cluster/smoke")
  return c


def get_sweep(name: str = "") -> list[dict[str, object]]:
  """The runs of sweep `name` (`python -m experiments.sweep --sweep=NAME`).

  seeds  Table 2's CLUSTER entry over the 10 seeds (the default and only sweep)

  The GPS component ablations are swept on ZINC, one of the paper's ablation datasets (experiments/gps_zinc).
  """
  return sweeps.select(name, {"seeds": sweeps.product({"seed": PAPER_SEEDS})})


def get_protocol() -> dict[str, object]:
  """Table 2's CLUSTER entry as `python -m experiments.gps_cluster.reproduce` measures it: the class-averaged test
  accuracy at the best-validation epoch.
  """
  return protocols.over_seeds(
    protocols.SBM_ACCURACY,
    row="GPS (GatedGCN + Transformer, LapPE)",
    paper="graphgps",
    match={"model": "GPS", "dataset": "CLUSTER"},
    seeds=PAPER_SEEDS,
    quick_epochs=12,
    quick_warmup_epochs=1,
  )
