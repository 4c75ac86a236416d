"""research.data.prepare_dataset builds the dataset a config names, and refuses unknown names."""

import ml_collections
import pytest
import tensorflow_datasets as tfds

from research import data


def test_builds_the_named_dataset(tmp_path):
  config = ml_collections.ConfigDict(dict(name="cluster", variant="tiny", data_dir=str(tmp_path)))
  data.prepare_dataset(config)
  assert len(tfds.data_source("cluster/tiny", split="val", data_dir=str(tmp_path), download=False)) == 16


def test_unknown_dataset_is_refused(tmp_path):
  with pytest.raises(ValueError, match="config.data.name='mnist'"):
    data.prepare_dataset(ml_collections.ConfigDict(dict(name="mnist", data_dir=str(tmp_path))))
