"""Damaged or unwritable dataset files end as one DataError that names the file or folder and what to do."""

from __future__ import annotations

import pathlib
import shutil

import ml_collections
import pytest

from research import data
from research.data import csl
from research.errors import DataError

TRAIN_FILE = "csl-train_fold0.array_record-00000-of-00001"


def _csl_config(data_dir: pathlib.Path, **overrides) -> ml_collections.ConfigDict:
  config = dict(
    name="csl",
    data_dir=str(data_dir),
    fold=0,
    max_nodes=41,
    max_edges=164,
    batch_size=5,
    eval_batch_size=30,
    num_threads=2,
    prefetch=2,
    cache=False,
  )
  return ml_collections.ConfigDict({**config, **overrides})


def _truncate(path: pathlib.Path) -> None:
  content = path.read_bytes()
  path.write_bytes(content[: len(content) // 2])


def _flip_a_bit(path: pathlib.Path) -> None:
  """Flips one bit inside the records (ArrayRecord files are padded to 64 KiB blocks; a third in holds records)."""
  content = bytearray(path.read_bytes())
  content[len(content) // 3] ^= 0x10
  path.write_bytes(bytes(content))


@pytest.fixture(params=[_truncate, _flip_a_bit], ids=["truncated", "bit_flipped"])
def damaged(request, csl_data_dir, tmp_path) -> pathlib.Path:
  """A copy of the prepared CSL dataset whose training file of fold 0 is damaged."""
  data_dir = tmp_path / "tfds"
  shutil.copytree(csl_data_dir, data_dir)
  request.param(data_dir / "csl" / str(csl.Csl.VERSION) / TRAIN_FILE)
  return data_dir


def _assert_names_the_file_and_the_fix(error: DataError, data_dir: pathlib.Path) -> None:
  folder = data_dir / "csl" / str(csl.Csl.VERSION)
  message = str(error)
  assert type(error) is DataError and message.startswith(f"{folder / TRAIN_FILE} cannot be read (")
  assert "Riegeli/records file" in message and "of the 'train_fold0' split of the prepared dataset csl" in message
  assert message.endswith(f"Delete {folder} and rerun the same command to rebuild it.")


def test_a_damaged_file_read_at_pipeline_build_is_named_and_rebuilding_it_works(damaged):
  with pytest.raises(DataError) as error:
    data.build_pipeline(_csl_config(damaged, cache=True), seed=0, train_rows=(0, 5), eval_rows=(0, 30))
  _assert_names_the_file_and_the_fix(error.value, damaged)
  shutil.rmtree(damaged / "csl" / str(csl.Csl.VERSION))  # what the message says to do
  pipeline = data.build_pipeline(_csl_config(damaged, cache=True), seed=0, train_rows=(0, 5), eval_rows=(0, 30))
  assert pipeline.num_train_examples == 90


def test_a_damaged_file_read_by_the_reader_threads_mid_training_is_named(damaged):
  pipeline = data.build_pipeline(_csl_config(damaged), seed=0, train_rows=(0, 5), eval_rows=(0, 30))
  batches = pipeline.train_batches(0)
  with pytest.raises(DataError) as error:
    for _ in range(pipeline.steps_per_epoch):  # an epoch reads every record, the damaged ones too
      next(batches)
  _assert_names_the_file_and_the_fix(error.value, damaged)
  assert len(next(pipeline.eval_batches("validation"))["example_mask"]) == 30  # the other files still read


def test_an_unreadable_dataset_info_is_named_and_rebuilding_it_works(csl_data_dir, tmp_path):
  data_dir = tmp_path / "tfds"
  shutil.copytree(csl_data_dir, data_dir)
  folder = data_dir / "csl" / str(csl.Csl.VERSION)
  (folder / "dataset_info.json").write_text((folder / "dataset_info.json").read_text()[:100])
  with pytest.raises(DataError) as error:
    data.build_pipeline(_csl_config(data_dir), seed=0, train_rows=(0, 5), eval_rows=(0, 30))
  assert str(error.value).startswith(f"{folder / 'dataset_info.json'} cannot be read (Failed to load JSON")
  assert str(error.value).endswith(f"Delete {folder} and rerun the same command to rebuild it.")
  shutil.rmtree(folder)
  assert data.build_pipeline(_csl_config(data_dir), seed=0, train_rows=(0, 5), eval_rows=(0, 30)).steps_per_epoch == 18


def test_an_unwritable_data_dir_is_named_with_what_to_set(tmp_path):
  (tmp_path / "a_file").write_text("")
  data_dir = tmp_path / "a_file" / "tfds"
  with pytest.raises(DataError) as error:
    data.prepare_dataset(ml_collections.ConfigDict(dict(name="csl", data_dir=str(data_dir))))
  assert str(error.value) == (
    f"The TFDS data directory {data_dir} is not writable (Not a directory), and csl must be built there once. "
    "Set TFDS_DATA_DIR or config.data.data_dir to a writable folder."
  )
