"""Shared fixtures: one prepared CSL dataset for the whole session."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def csl_data_dir(tmp_path_factory) -> str:
  """A TFDS data directory holding the prepared CSL dataset."""
  from research.data import csl

  data_dir = str(tmp_path_factory.getbasetemp().parent / "tfds_csl")
  csl.prepare(data_dir)
  return data_dir
