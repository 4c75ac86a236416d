"""Every experiment config's sweeps: the papers' protocols and ablations, valid for the full and the smoke config."""

from __future__ import annotations

import collections
import glob
import json
import os
import re
import subprocess
import sys

import jax
import pytest
from flax import nnx

from helpers import REPO, env_with_devices
from research import config_file, models
from research.sweep import spec

# experiment -> its sweeps in order (the first is the default) and their run counts, by the papers' protocols.
SWEEPS = {
  # Table 10: 5 folds x 20 seeds; its reproduced rows: 3 models
  "benchmarking_gnns_csl": {"folds_seeds": 5 * 20, "ablation_pe": 2 * 5 * 20, "table10": 3 * 5 * 20},
  "exphormer_cluster": {"seeds": 10, "ablation": 5 * 10},  # configs/Ablation/cluster: 5 attention graphs
  "exphormer_pattern": {"seeds": 10, "ablation": 5 * 10},
  "fidnet": {"seeds": 3},
  "gps_diagrams": {"seeds": 3, "ablation_global": 2 * 3, "ablation_local": 2 * 3},  # ours: 3 seeds
  "gps_cluster": {"seeds": 10},
  "gps_pattern": {"seeds": 10},
  "gps_zinc": {"seeds": 10, "ablation_global": 3 * 10, "ablation_local": 3 * 10, "ablation_pe": 3 * 10},
  "graphormer_zinc": {"seeds": 4},
  "grit_pattern": {"seeds": 4},
  "grit_zinc": {"seeds": 4, "ablation_rrwp_steps": 6 * 4},
  "gt_pattern": {
    "seeds": 4,
    "ablation_pe": 2 * 4,
    "ablation_norm": 2 * 4,
    "ablation_attention": 2 * 4,
    "table1": 8 * 4,
  },  # Table 1: 2 attentions x 2 norms x 2 PEs, 4 seeds each
  "san_zinc": {"seeds": 4, "ablation": 4 * 4, "ablation_gamma": 7 * 4},
}
SWEEP_CASES = [(experiment, name) for experiment, names in SWEEPS.items() for name in names]


def config_path(experiment: str) -> str:
  return os.path.join(REPO, "experiments", experiment, "config.py")


def parameter_count(model: dict, **overrides) -> int:
  """Parameters of the model a config's `model` dict builds (shapes only), with `overrides` on its kwargs."""
  nnx.use_eager_sharding(False)
  kwargs = {k: v for k, v in model.items() if k != "name"} | overrides
  abstract = nnx.eval_shape(lambda: models.build_model(model["name"], rngs=nnx.Rngs(0), **kwargs))
  return sum(x.size for x in jax.tree.leaves(nnx.state(abstract, nnx.Param)))


def test_every_experiment_config_is_covered():
  found = {os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(REPO, "experiments", "*", "config.py"))}
  assert found == set(SWEEPS)


@pytest.mark.parametrize("experiment,name", SWEEP_CASES)
@pytest.mark.parametrize("config_arg", ["", "smoke"])
def test_sweep_expands_with_the_papers_run_count(experiment, name, config_arg):
  sweep = spec.expand(config_path(experiment), config_arg, name)  # checks every override against the config
  assert len(sweep.runs) == SWEEPS[experiment][name]
  assert len({run.name for run in sweep.runs}) == len(sweep.runs)


@pytest.mark.parametrize("experiment", sorted(SWEEPS))
def test_default_sweep_is_the_first_and_unknown_names_list_them_all(experiment):
  module = config_file.load_module(config_path(experiment))
  assert module.get_sweep() == module.get_sweep(next(iter(SWEEPS[experiment])))
  with pytest.raises(ValueError, match="Unknown sweep 'ablation_typo'") as error:
    spec.expand(config_path(experiment), "smoke", "ablation_typo")
  listed = re.search(r"defines: (.*)\.$", str(error.value)).group(1).split(", ")
  assert listed == list(SWEEPS[experiment])


@pytest.mark.parametrize("experiment,name", SWEEP_CASES)
def test_every_variant_builds_its_model_at_full_and_smoke_width(experiment, name):
  for config_arg in ("", "smoke"):
    sweep = spec.expand(config_path(experiment), config_arg, name)
    variants = {}
    for run in sweep.runs:
      model = sweep.configs[run.name].model.to_dict()
      variants[json.dumps(model, sort_keys=True)] = model
    for model in variants.values():
      assert parameter_count(model, num_layers=1) > 0  # the constructors' checks are per layer


def test_gt_pattern_pe_ablation_is_two_variants_over_the_four_paper_seeds():
  runs = spec.expand(config_path("gt_pattern"), "smoke", "ablation_pe").runs
  pairs = {(run.overrides["model.pe"], run.overrides["seed"]) for run in runs}
  assert pairs == {(pe, seed) for pe in ("lap_sym", "none") for seed in (41, 95, 12, 35)} and len(runs) == 8


def test_gt_pattern_table1_crosses_attention_norm_and_pe_over_the_four_seeds():
  runs = spec.expand(config_path("gt_pattern"), "", "table1").runs
  seeds_by_variant = collections.defaultdict(set)
  for run in runs:
    variant = tuple(sorted((k, v) for k, v in run.overrides.items() if k != "seed"))
    seeds_by_variant[variant].add(run.overrides["seed"])
  assert len(seeds_by_variant) == 8 and all(seeds == {41, 95, 12, 35} for seeds in seeds_by_variant.values())
  assert all(run.overrides["model.batch_norm"] != run.overrides["model.layer_norm"] for run in runs)


def test_csl_protocol_covers_every_fold_with_every_official_seed():
  runs = spec.expand(config_path("benchmarking_gnns_csl"), "", "folds_seeds").runs
  module = config_file.load_module(config_path("benchmarking_gnns_csl"))
  pairs = {(run.overrides["data.fold"], run.overrides["seed"]) for run in runs}
  assert pairs == {(fold, seed) for fold in range(5) for seed in module.PAPER_SEEDS}


def test_csl_table10_builds_each_row_s_model_from_its_config_argument():
  sweep = spec.expand(config_path("benchmarking_gnns_csl"), "smoke", "table10")
  models = {(run.overrides["arg:model"], run.overrides["model.pe"]) for run in sweep.runs}
  assert models == {("gated_gcn", "none"), ("gated_gcn", "lap"), ("gt", "lap")}
  for run in sweep.runs:
    assert sweep.configs[run.name].model.name == run.overrides["arg:model"]
    assert "--config=" + config_path("benchmarking_gnns_csl") + ":smoke,model=" + run.overrides["arg:model"] in (
      sweep.run_args(run)
    )
  assert sweep.runs[0].name == "model=gated_gcn,pe=none,fold=0,seed=14"


def test_exphormer_ablation_removes_one_component_at_a_time():
  runs = spec.expand(config_path("exphormer_pattern"), "", "ablation").runs
  keys = ("model.real_edges", "model.expander_edges", "model.num_virtual_nodes")
  graphs = {tuple(run.overrides[k] for k in keys) for run in runs}
  assert graphs == {(True, True, 4), (False, True, 4), (True, False, 4), (True, True, 0), (True, False, 0)}


def test_a_gt_pattern_ablation_run_trains_with_its_overrides(tmp_path):
  sweep = spec.expand(config_path("gt_pattern"), "smoke", "ablation_pe", str(tmp_path / "sweep"))
  run = next(r for r in sweep.runs if r.overrides["model.pe"] == "none")
  proc = subprocess.run(
    [sys.executable, *sweep.run_args(run)],
    env=env_with_devices(1, str(tmp_path / "tfds")),
    cwd=REPO,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert proc.returncode == 0, proc.stderr[-4000:]
  workdir = sweep.workdir(run)
  with open(os.path.join(workdir, "config.json")) as f:
    config = json.load(f)
  with open(os.path.join(workdir, "final.json")) as f:
    final = json.load(f)
  assert (config["model"]["pe"], config["seed"]) == ("none", run.overrides["seed"])
  with_lap_pe = parameter_count(config_file.load_module(sweep.config_path).get_config("smoke").model.to_dict())
  assert final["num_params"] == parameter_count(config["model"]) < with_lap_pe
  assert final["step"] == config["total_steps"] and 0 <= final["final"]["test/accuracy_sbm"] <= 1
