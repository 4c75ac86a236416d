"""research.data.check_config: each data value that cannot work is one ConfigError naming it, before any data."""

from __future__ import annotations

import importlib
import pathlib

import ml_collections
import pytest

from research import data
from research.errors import ConfigError

EXPERIMENTS = sorted(p.parent.name for p in pathlib.Path(__file__).parents[2].glob("experiments/*/config.py"))


def _config(name: str, arg: str = "") -> ml_collections.ConfigDict:
  return importlib.import_module(f"experiments.{name}.config").get_config(arg).data


@pytest.mark.parametrize("arg", ["", "smoke"])
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiments_data_config_passes(experiment, arg, tmp_path):
  config = _config(experiment, arg)
  config.data_dir = str(tmp_path / "tfds")
  data.check_config(config, num_batch_shards=1)
  assert not (tmp_path / "tfds").exists()  # nothing is built or read


# (experiment, key, value, the message's end)
_OUT_OF_RANGE = [
  ("gps_zinc", "batch_size", 0, "config.data.batch_size=0 is out of range; it must be >= 1."),
  ("gps_zinc", "eval_batch_size", -4, "config.data.eval_batch_size=-4 is out of range; it must be >= 1."),
  (
    "gps_zinc",
    "num_threads",
    -1,
    "config.data.num_threads=-1 is out of range; it must be >= 0 (0: read in the calling thread).",
  ),
  ("gps_zinc", "prefetch", 0, "config.data.prefetch=0 is out of range; it must be >= 1."),
  ("gps_zinc", "max_nodes", 0, "config.data.max_nodes=0 is out of range; it must be >= 1."),
  ("gps_zinc", "max_edges", -1, "config.data.max_edges=-1 is out of range; it must be >= 1."),
  (
    "gps_zinc",
    "variant",
    "12k",
    "config.data.variant='12k' is not a variant of zinc; use one of ['subset', 'full', "
    "'subset_paths', 'tiny', 'tiny_paths'].",
  ),
  ("benchmarking_gnns_csl", "fold", 5, "config.data.fold=5 is out of range; it must be in [0, 4] (CSL's 5 folds)."),
  (
    "gps_pattern",
    "variant",
    "small",
    "config.data.variant='small' is not a variant of pattern; use one of ['full', 'tiny'].",
  ),
  (
    "exphormer_pattern",
    "max_expander_edges",
    -2,
    "config.data.max_expander_edges=-2 is out of range; it must be >= 0 (0: none).",
  ),
  ("gps_diagrams", "rwse_steps", -1, "config.data.rwse_steps=-1 is out of range; it must be >= 0 (0: no RWSE)."),
  ("fidnet", "noise_probability", 1.5, "config.data.noise_probability=1.5 is out of range; it must be in [0.0, 1.0]."),
  ("fidnet", "order", "spiral", "config.data.order='spiral' is not an element order; use one of "),
  ("fidnet", "max_elements", 0, "config.data.max_elements=0 is out of range; it must be >= 1."),
]


_IDS = [f"{experiment}.{key}" for experiment, key, _, _ in _OUT_OF_RANGE]


@pytest.mark.parametrize("experiment, key, value, message", _OUT_OF_RANGE, ids=_IDS)
def test_a_value_out_of_range_names_the_key_and_the_allowed_range(experiment, key, value, message):
  config = _config(experiment)
  config[key] = value
  with pytest.raises(ConfigError) as error:
    data.check_config(config, num_batch_shards=1)
  assert str(error.value).startswith(message)


def test_a_missing_key_is_named():
  config = _config("gps_zinc")
  del config["max_nodes"]
  with pytest.raises(ConfigError, match=r"config.data.max_nodes is not set; the dataset config.data.name='zinc'"):
    data.check_config(config, num_batch_shards=1)


def test_every_batch_shard_must_hold_whole_packs():
  config = _config("gps_zinc")  # batch 32 and eval batch 128, packs of 32 graphs
  data.check_config(config, num_batch_shards=1)
  with pytest.raises(ConfigError) as error:
    data.check_config(config, num_batch_shards=2)
  assert str(error.value) == (
    "config.data.batch_size=32 does not split into whole packs of config.data.graphs_per_pack=32 graphs on each of "
    "the 2 batch shards; use a batch size that is a multiple of 64."
  )
  config.batch_size = 96
  with pytest.raises(ConfigError, match=r"config.data.eval_batch_size=128 .* 3 batch shards; .* multiple of 96\."):
    data.check_config(config, num_batch_shards=3)


def test_layout_and_single_graph_datasets_take_any_number_of_shards():
  data.check_config(_config("fidnet"), num_batch_shards=8)
  config = _config("gps_zinc")
  config.graphs_per_pack = 1
  data.check_config(config, num_batch_shards=3)  # the trainer's own batch check covers divisibility
