"""The GT-on-PATTERN experiment: the smoke config trains end to end; the full config is the official one."""

from __future__ import annotations

import json
import math

from experiment_helpers import full_parameter_count, train_smoke
from experiments.gt_pattern import config as experiment_config
from research.analysis import papers

OFFICIAL_PARAMS = 522_982  # recount of the official code (papers/gt.yaml)
OUR_PARAMS = 523_062  # + 80: a Linear with bias on the one-hot feature instead of nn.Embedding(3, 80)


def test_smoke_config_trains_end_to_end(tmp_path):
  final = train_smoke("gt_pattern", tmp_path)
  for split in ("validation", "test"):
    assert 0.0 <= final["final"][f"{split}/accuracy_sbm"] <= 1.0
    assert math.isfinite(final["final"][f"{split}/loss"])
  assert final["best"] is None  # the last model is the one tested
  model = json.loads((tmp_path / "run" / "config.json").read_text())["model"]
  assert (model["name"], model["pe"]) == ("gt", "lap_sym")


def test_full_config_has_the_official_parameter_count():
  count = full_parameter_count("gt_pattern")
  assert count == OUR_PARAMS
  assert abs(count - OFFICIAL_PARAMS) / OFFICIAL_PARAMS < 0.05


def test_full_config_follows_the_official_config():
  # configs/SBMs_GraphTransformer_LapPE_PATTERN_500k_sparse_graph_BN.json
  config = experiment_config.get_config()
  m = config.model
  assert (m.num_layers, m.hidden_dim, m.num_heads, m.out_dim) == (10, 80, 8, 2)
  assert (m.attention, m.pe, m.pe_dim) == ("sparse", "lap_sym", 2)
  assert (m.dropout, m.in_feat_dropout, m.batch_norm, m.layer_norm, m.residual) == (0.0, 0.0, True, False, True)
  assert config.data.batch_size == 26 and config.data.max_edges >= 26 * 5_724
  o = config.optimizer
  assert (o.name, o.learning_rate, o.weight_decay, o.schedule, o.warmup_epochs) == ("adam", 5e-4, 0.0, "plateau", 0)
  assert (o.plateau_factor, o.plateau_patience, config.stop_below_lr, config.epochs) == (0.5, 10, 1e-6, 1000)
  assert config.eval_every_steps == 0 and not config.checkpoint.keep_best  # every epoch; last model tested
  assert [run["seed"] for run in experiment_config.get_sweep()] == [41, 95, 12, 35]


def test_paper_number_is_transcribed():
  number = papers.paper_number("gt", "benchmarking_gnns", model="GT", dataset="PATTERN")
  assert (number.mean, number.std) == (84.808, 0.068)
