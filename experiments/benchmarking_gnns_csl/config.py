"""CSL (circular skip links) from "Benchmarking Graph Neural Networks" (Dwivedi et al., JMLR 2023).

Table 10: message-passing GNNs without positional encodings cannot tell the 10
classes apart (all are 4-regular: 1-WL gives every node the same colour), so they
sit at 10.000 ± 0.000 test accuracy; with 20 Laplacian eigenvectors as node
positions GatedGCN reaches 99.600 ± 1.083 (20 seeds × 5 folds).

    python -m experiments.run --config=experiments/benchmarking_gnns_csl/config.py:model=gated_gcn,pe=lap,fold=0
    python -m experiments.run --config=experiments/benchmarking_gnns_csl/config.py:smoke
    python -m experiments.benchmarking_gnns_csl.reproduce [--quick]

Hyperparameters are those of the official configs
(configs/CSL_graph_classification_GatedGCN_CSL{,_PE}_100k.json): 4 layers × 70,
mean readout, BatchNorm, residual, no dropout, batch 5, Adam 5e-4 with
ReduceLROnPlateau on the validation loss (factor 0.5, patience 5), stop when the
learning rate falls below 1e-6, at most 1000 epochs; the last model is tested.
GT has no official CSL config: we use the same protocol at a ~100k budget
(4 layers × 56, 4 heads, sparse attention over the graph's edges, BatchNorm).
Hardware and time: see README.md beside this file.
"""

from __future__ import annotations

import ml_collections

from configs import args as config_args
from configs import base, optimizers, sweeps

# The initialisation seeds of the official 20-seed scripts (scripts/CSL/*_20_seeds.sh).
PAPER_SEEDS = (14, 15, 18, 19, 34, 35, 38, 39, 54, 55, 58, 59, 84, 85, 88, 89, 94, 95, 98, 99)
NUM_FOLDS = 5
MODELS = ("gated_gcn", "gt")
PES = ("none", "lap")
# The rows of the reproduced table: (row name, model, pe, paper table, paper row). GatedGCN without PE is Table 13's
# row (Table 10 gives one row for all MP-GCNs); GT has no CSL number in the paper.
ROWS = (
  ("GatedGCN", "gated_gcn", "none", "csl_pe_study", {"model": "GatedGCN", "pe": "none"}),
  ("GatedGCN + LapPE", "gated_gcn", "lap", "csl", {"model": "GatedGCN", "pe": "laplacian_20"}),
  ("GT + LapPE", "gt", "lap", "", {}),
)
QUICK_MAX_EPOCHS = 100  # --quick: the paper's GatedGCN-LapPE runs stopped after 147 epochs on average
# Measured 2026-12-04 (README.md): the quick protocol leaves GT + LapPE out; the paper protocol keeps it.
QUICK_DROPS = {
  "GT + LapPE": (
    "Under GatedGCN's protocol (GT has no official CSL config) it has not converged after 100 epochs: validation "
    "loss 0.17-0.60 and fold accuracies 96.7, 100, 80.0, 76.7, 100 (90.7 ± 10.2), which float-level differences "
    "between machines and commits move (86.7, 90.0, 66.7, 96.7, 83.3 in an earlier measurement); with the paper's "
    "stopping rule (186 epochs on average) 3 of its 10 runs over seeds 14 and 15 end at 93.3, 80.0 and 76.7%."
  ),
}


def model_config(model: str, pe: str, smoke: bool) -> ml_collections.ConfigDict:
  if model not in MODELS:
    raise ValueError(f"model={model!r}; choose one of {MODELS}.")
  if pe not in PES:
    raise ValueError(f"pe={pe!r}; choose one of {PES}.")
  c = ml_collections.ConfigDict()
  c.name = model
  c.node_in_dim = 0  # featureless nodes (CSL): a learned constant, or the PE alone, as the official net
  c.edge_in_dim = 1
  c.out_dim = 10
  c.pe = pe
  c.pe_dim = 20
  c.readout = "mean"
  c.dropout = 0.0
  c.residual = True
  c.num_layers = 2 if smoke else 4
  if model == "gated_gcn":
    c.hidden_dim = 16 if smoke else 70
    c.batch_norm = True
  else:
    c.hidden_dim = 16 if smoke else 56
    c.num_heads = 4
    c.attention = "sparse"
    c.batch_norm = True
    c.layer_norm = False
  return c


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  a = config_args.parse_arg(arg, smoke=False, model="gated_gcn", pe="lap", fold=0, seed=PAPER_SEEDS[0], epochs=1000)
  c = base.get_base_config()
  c.seed = a["seed"]
  c.task = "graph_classification"
  c.model = model_config(a["model"], a["pe"], a["smoke"])
  c.data.name = "csl"
  c.data.fold = a["fold"]
  c.data.max_nodes = 41
  c.data.max_edges = 164
  c.data.batch_size = 5
  c.data.eval_batch_size = 30
  c.data.cache = True  # 150 small graphs, decoded once ...
  c.data.num_threads = 0  # ... and read in the prefetch thread: no reader threads needed
  c.optimizer = optimizers.adam_plateau(learning_rate=5e-4, factor=0.5, patience=5)
  c.stop_below_lr = 1e-6
  c.epochs = a["epochs"]
  c.log_every_steps = 90
  c.eval_every_steps = 0  # every epoch (18 steps), as the plateau schedule needs
  c.checkpoint.every_steps = 900
  c.checkpoint.keep_best = False  # the paper tests the last-epoch model
  c.diagnostics.every_steps = 18
  c.workdir = f"runs/benchmarking_gnns_csl/{a['model']}_{a['pe']}/fold{a['fold']}_seed{a['seed']}"
  if a["smoke"]:
    c.data.batch_size = 10
    c.epochs = 0
    c.total_steps = 18
    c.eval_every_steps = 9
    c.log_every_steps = 3
    c.checkpoint.every_steps = 9
    c.diagnostics.every_steps = 3
    c.workdir = f"runs/benchmarking_gnns_csl/smoke_{a['model']}_{a['pe']}"
  return c


def get_sweep(name: str = "") -> list[dict[str, object]]:
  """The runs of sweep `name` for one (model, pe) of `get_config` (`python -m experiments.sweep --sweep=NAME`).

  folds_seeds  Table 10's protocol: every fold x every official seed (the default; 100 runs)
  ablation_pe  Table 10's rows with and without Laplacian PE (Table 13's "none" and random-sign rows):
               both PEs x every fold x every seed (200 runs)
  table10      the rows of ROWS (GatedGCN, GatedGCN + LapPE, GT + LapPE), each over every fold x every seed
               (300 runs; the model is the config argument `arg:model`)

  Table 13's other PE variants (fixed signs, |eigenvectors|, node-index PEs) are not expressible:
  the models here read the eigenvectors with random sign flips or not at all.
  """
  protocol = sweeps.product({"data.fold": list(range(NUM_FOLDS)), "seed": PAPER_SEEDS})
  rows = sweeps.zipped({"arg:model": [model for _, model, *_ in ROWS], "model.pe": [pe for _, _, pe, *_ in ROWS]})
  return sweeps.select(
    name,
    {
      "folds_seeds": protocol,
      "ablation_pe": sweeps.combine(sweeps.product({"model.pe": list(PES)}), protocol),
      "table10": sweeps.combine(rows, protocol),
    },
  )


def get_protocol() -> dict[str, object]:
  """Table 10 as `python -m experiments.benchmarking_gnns_csl.reproduce` measures it (research.analysis.reproduction).

  The last-epoch model's test accuracy, one row per model of ROWS over 5 folds x 20 seeds; --quick: 5 folds x the
  first seed, at most QUICK_MAX_EPOCHS epochs, without the rows of QUICK_DROPS (each with its measured reason).
  """
  return {
    "sweep": "table10",
    "metric": "test/accuracy",
    "at": "final",
    "scale": 100.0,
    "label": "test accuracy (%)",
    "paper": "benchmarking_gnns",
    "rows": [
      {"name": row, "runs": {"arg:model": model, "model.pe": pe}, "table": table, "match": match}
      for row, model, pe, table, match in ROWS
    ],
    "quick": {
      "config_arg": f"epochs={QUICK_MAX_EPOCHS}",
      "runs": {"seed": list(PAPER_SEEDS[:1])},
      "drop_rows": QUICK_DROPS,
    },
    "parallel": 2,
  }
