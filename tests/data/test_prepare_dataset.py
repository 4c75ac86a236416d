"""The dataset registry: research.data.prepare_dataset, build_pipeline and check_config find a dataset by name."""

import ml_collections
import pytest
import tensorflow_datasets as tfds

from research import data
from research.data import registry
from research.errors import ConfigError

NAMES = ["cluster", "csl", "diagram_graphs", "pattern", "publaynet", "rico", "synthetic_diagrams", "zinc"]


def test_every_dataset_is_registered_once_with_its_variants():
  assert registry.names() == NAMES
  assert registry.get("zinc").variants == ("subset", "full", "subset_paths", "tiny", "tiny_paths")
  assert registry.get("csl").variants == () and registry.get("pattern").variants == ("full", "tiny")
  with pytest.raises(ValueError, match="Two datasets are registered as 'csl'"):
    registry.register(registry.get("csl"))


def test_builds_the_named_dataset(tmp_path):
  config = ml_collections.ConfigDict(dict(name="cluster", variant="tiny", data_dir=str(tmp_path)))
  data.prepare_dataset(config)
  assert len(tfds.data_source("cluster/tiny", split="val", data_dir=str(tmp_path), download=False)) == 16


@pytest.mark.parametrize("entry", ["prepare_dataset", "build_pipeline", "check_config"])
def test_an_unknown_name_is_a_config_error_listing_the_known_names(tmp_path, entry):
  config = ml_collections.ConfigDict(dict(name="mnist", data_dir=str(tmp_path)))
  call = {
    "prepare_dataset": lambda: data.prepare_dataset(config),
    "build_pipeline": lambda: data.build_pipeline(config, seed=0, train_rows=(0, 1), eval_rows=(0, 1)),
    "check_config": lambda: data.check_config(config, 1),
  }[entry]
  with pytest.raises(ConfigError) as error:
    call()
  assert str(error.value) == f"config.data.name='mnist' is not a dataset; use one of {NAMES}."


def test_an_unknown_variant_is_refused_before_anything_is_built(tmp_path):
  config = ml_collections.ConfigDict(dict(name="zinc", variant="12k", data_dir=str(tmp_path / "tfds")))
  with pytest.raises(ConfigError, match=r"config.data.variant='12k' is not a variant of zinc; use one of \['subset'"):
    data.prepare_dataset(config)
  assert not (tmp_path / "tfds").exists()
