"""GraphGPS on PATTERN: Rampášek et al., "Recipe for a General, Powerful, Scalable Graph Transformer" (NeurIPS 2022).

Table 2 (Benchmarking GNNs datasets): GPS (GatedGCN + Transformer, LapPE) reaches
86.685 ± 0.059 class-averaged test accuracy on PATTERN (10 seeds, test score at
the best-validation epoch, ~500k budget: 337,201 parameters).

    python -m experiments.run --config=experiments/gps_pattern/config.py
    python -m experiments.run --config=experiments/gps_pattern/config.py:smoke
    python -m experiments.gps_pattern.reproduce [--quick]

Hyperparameters are those of the official configs/GPS/pattern-GPS.yaml: 6 GPS
layers of width 64 (GatedGCN + Transformer, 4 heads, dropout 0, attention
dropout 0.5, BatchNorm), node input = [Linear(one-hot feature) (48) || LapPE
DeepSet (16)] over 16 eigenpairs of the combinatorial Laplacian, DummyEdge edge
embedding, GraphGym head with 3 layers and one logit (binary), class-weighted
loss; AdamW (lr 5e-4, weight decay 1e-5), gradient clipping at norm 1,
batch 32, 100 epochs with a cosine schedule after 5 warmup epochs, stepped once
per epoch as in the official code. Hardware and time: see README.md beside this file.
"""

from __future__ import annotations

import ml_collections

from configs import args as config_args
from configs import graph_budgets, graphgps, protocols, sweeps

PAPER_SEEDS = tuple(range(10))  # GraphGPS runs seeds 0..9 (`--repeat 10`)
NUM_CLASSES = 2
INPUT_DIM = 3  # one-hot of the node features {0, 1, 2}


def model_config(smoke: bool) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "gps"
  c.hidden_dim = 16 if smoke else 64
  c.num_layers = 2 if smoke else 6
  c.num_heads = 4
  c.out_dim = 1  # binary: GraphGym uses one logit for two classes
  c.node_in_dim = INPUT_DIM
  c.edge_in_dim = 0  # no edge features: DummyEdge
  c.local_model = "gated_gcn"
  c.global_model = "transformer"
  c.pe = "lap_deepset"
  c.pe_dim = 4 if smoke else 16
  c.pe_channels = 16  # max_freqs
  c.pe_layers = 2
  c.pe_heads = 4  # posenc_LapPE.n_heads: read only by pe="lap_transformer"
  c.dropout = 0.0
  c.attn_dropout = 0.5
  c.batch_norm = True
  c.layer_norm = False
  c.head = "node"
  c.head_layers = 3
  return c


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
    workdir=f"runs/gps_pattern/seed{a['seed']}",
  )
  graph_budgets.set_sbm_budgets(c.data, "pattern", a["graphs_per_pack"])  # 32: the whole batch on one device
  if a["smoke"]:
    graphgps.make_sbm_smoke(c, graphs_per_pack=4, batch_size=8, total_steps=8, workdir="runs/gps_pattern/smoke")
  return c


def get_sweep(name: str = "") -> list[dict[str, object]]:
  """The runs of sweep `name` (`python -m experiments.sweep --sweep=NAME`).

  seeds  Table 2's PATTERN entry over the 10 seeds (the default and only sweep)

  The GPS component ablations are swept on ZINC, one of the paper's ablation datasets (experiments/gps_zinc).
  """
  return sweeps.select(name, {"seeds": sweeps.product({"seed": PAPER_SEEDS})})


def get_protocol() -> dict[str, object]:
  """Table 2's PATTERN entry as `python -m experiments.gps_pattern.reproduce` measures it: the class-averaged test
  accuracy at the best-validation epoch.
  """
  return protocols.over_seeds(
    protocols.SBM_ACCURACY,
    row="GPS (GatedGCN + Transformer, LapPE)",
    paper="graphgps",
    match={"model": "GPS", "dataset": "PATTERN"},
    seeds=PAPER_SEEDS,
    quick_epochs=8,
    quick_warmup_epochs=0,
  )
