"""GraphGPS on ZINC: Rampášek et al., "Recipe for a General, Powerful, Scalable Graph Transformer" (NeurIPS 2022).

Table 2 (Benchmarking GNNs datasets): GPS (GINE + Transformer, RWSE) reaches a
test MAE of 0.070 ± 0.004 on the ZINC 12k subset (10 seeds, test score at the
best-validation epoch; 423,717 parameters).

    python -m experiments.run --config=experiments/gps_zinc/config.py
    python -m experiments.run --config=experiments/gps_zinc/config.py:smoke
    python -m experiments.gps_zinc.reproduce [--quick]

ZINC is read from the released molecules.zip (see research/data/zinc): place
it in <data_dir>/downloads/manual/ or pass `--config.data.manual_dir`.

Hyperparameters are those of the official configs/GPS/zinc-GPS+RWSE.yaml: 10
GPS layers of width 64 (GINE + Transformer, 4 heads, dropout 0, attention
dropout 0.5, BatchNorm), node input = [atom type embedding (36) || RWSE over
walks of 1..20 steps, BatchNorm then Linear (28)], bond type embedding, sum
pooling and the 64 -> 32 -> 16 -> 1 head, L1 loss; AdamW (lr 1e-3, weight decay
1e-5), gradient clipping at norm 1, batch 32, 2000 epochs with a cosine
schedule after 50 warmup epochs, stepped once per epoch as in the official code.
"""

from __future__ import annotations

import ml_collections

from configs import args as config_args
from configs import base, graphgps, protocols, sweeps

PAPER_SEEDS = tuple(range(10))  # GraphGPS runs seeds 0..9
NODE_VOCAB, EDGE_VOCAB = 28, 4  # atom types; bond types (0 = none, 1..3)
MAX_NODES = 38  # the largest ZINC molecule
MAX_EDGES_PER_GRAPH = 4 * MAX_NODES  # directed bonds: at most 2 per atom's valence of 4, both ways


def model_config(smoke: bool) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = "gps"
  c.hidden_dim = 16 if smoke else 64
  c.num_layers = 2 if smoke else 10
  c.num_heads = 4
  c.out_dim = 1
  c.node_vocab = NODE_VOCAB
  c.edge_vocab = EDGE_VOCAB
  c.local_model = "gine"
  c.global_model = "transformer"
  c.pe = "rwse"
  c.pe_dim = 4 if smoke else 28
  c.pe_channels = 20  # walk lengths 1..20
  c.dropout = 0.0
  c.attn_dropout = 0.5
  c.batch_norm = True
  c.layer_norm = False
  c.head = "graph"
  c.head_layers = 3  # san_graph: 64 -> 32 -> 16 -> 1
  c.graph_pooling = "sum"
  return c


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  a = config_args.parse_arg(arg, smoke=False, seed=PAPER_SEEDS[0], epochs=2000, warmup_epochs=50, variant="subset")
  c = graphgps.graphgps_config(
    task="graph_regression",
    model=model_config(a["smoke"]),
    data_name="zinc",
    variant=a["variant"],
    batch_size=32,
    eval_batch_size=128,
    learning_rate=1e-3,
    weight_decay=1e-5,
    epochs=a["epochs"],
    warmup_epochs=a["warmup_epochs"],
    seed=a["seed"],
    workdir=f"runs/gps_zinc/seed{a['seed']}",
  )
  c.data.manual_dir = ""  # "" = <data_dir>/downloads/manual
  c.data.max_nodes = MAX_NODES
  c.data.graphs_per_pack = 32
  c.data.max_edges = 32 * MAX_EDGES_PER_GRAPH
  if a["smoke"]:
    c.data.variant = "tiny"  # the 20-molecule fixture shipped in research/data/zinc/tiny (not ZINC): no download
    c.data.graphs_per_pack = 2
    c.data.max_edges = 2 * MAX_EDGES_PER_GRAPH
    base.make_smoke(c, batch_size=4, total_steps=6, workdir="runs/gps_zinc/smoke")
  return c


def get_sweep(name: str = "") -> list[dict[str, object]]:
  """The runs of sweep `name` over PAPER_SEEDS (`python -m experiments.sweep --sweep=NAME`).

  seeds            Table 2's ZINC entry: GINE + Transformer, RWSE (the default; 10 runs)
  ablation_global  the paper's global-attention ablation: Transformer, Performer, none (30 runs)
  ablation_local   the paper's MPNN ablation: GINE, GatedGCN, none (30 runs)
  ablation_pe      the paper's PE/SE ablation: none, RWSE, LapPE (30 runs); LapPE as the official
                   configs/GPS/zinc-GPS.yaml (8 eigenpairs through a DeepSet, 8 channels)

  The ablation tables' numbers are not in papers/graphgps.yaml yet. Not expressible, as this GPS has
  no such module: BigBird attention, the PNA MPNN, SignNet and EquivStableLapPE encodings.
  """
  seeds = sweeps.product({"seed": PAPER_SEEDS})
  global_models = sweeps.product({"model.global_model": ["transformer", "performer", "none"]})
  local_models = sweeps.product({"model.local_model": ["gine", "gated_gcn", "none"]})
  pes = [
    {"model.pe": "none"},
    {"model.pe": "rwse"},
    {"model.pe": "lap_deepset", "model.pe_channels": 8, "model.pe_dim": 8},
  ]
  return sweeps.select(
    name,
    {
      "seeds": seeds,
      "ablation_global": sweeps.combine(global_models, seeds),
      "ablation_local": sweeps.combine(local_models, seeds),
      "ablation_pe": sweeps.combine(pes, seeds),
    },
  )


def get_protocol() -> dict[str, object]:
  """Table 2's ZINC entry as `python -m experiments.gps_zinc.reproduce` measures it: the test MAE at the
  best-validation epoch.
  """
  return protocols.over_seeds(
    protocols.MAE,
    row="GPS (GINE + Transformer, RWSE)",
    paper="graphgps",
    match={"model": "GPS", "dataset": "ZINC"},
    seeds=PAPER_SEEDS,
    quick_epochs=20,
    quick_warmup_epochs=1,
  )
