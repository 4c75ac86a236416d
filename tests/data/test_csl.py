"""Tests for the CSL TFDS builder (research/data/csl)."""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import warnings

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import tensorflow_datasets as tfds

from research.data import csl
from research.graph import batch as batch_lib
from research.graph import encodings

ALL_SPLITS = [name for fold in range(csl.NUM_FOLDS) for name in csl.split_names(fold)]


def _read_all(data_dir) -> dict[str, list[dict]]:
  sources = tfds.data_source("csl", data_dir=os.fspath(data_dir), download=False)
  return {name: [sources[name][i] for i in range(len(sources[name]))] for name in ALL_SPLITS}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("tfds")
  csl.prepare(path)
  return path


@pytest.fixture(scope="module")
def splits(data_dir):
  return _read_all(data_dir)


@pytest.fixture(scope="module")
def graphs(splits):
  """The 150 graphs, by graph_id, taken from the test splits."""
  by_id = {int(r["graph_id"]): r for fold in range(csl.NUM_FOLDS) for r in splits[f"test_fold{fold}"]}
  return [by_id[i] for i in sorted(by_id)]


def _nx_graph(record) -> nx.Graph:
  graph = nx.Graph()
  graph.add_nodes_from(range(int(record["num_nodes"])))
  graph.add_edges_from(zip(record["senders"].tolist(), record["receivers"].tolist()))
  return graph


def test_records_have_the_batch_keys_and_dtypes(splits):
  record = splits["train_fold0"][0]
  for key in ("senders", "receivers"):
    assert isinstance(record[key], np.ndarray) and record[key].dtype == np.int32
  for key in ("node_features", "edge_features", "lap_eigvec", "lap_eigval", "rwse"):
    assert isinstance(record[key], np.ndarray) and record[key].dtype == np.float32, key
  assert record["node_features"].shape == (41, 1) and np.all(record["node_features"] == 0)
  assert record["edge_features"].shape == (164, 1) and np.all(record["edge_features"] == 1)
  assert record["lap_eigvec"].shape == (41, 20) and record["lap_eigval"].shape == (20,)
  assert record["rwse"].shape == (41, 20)
  assert int(record["num_nodes"]) == 41


def test_150_graphs_each_4_regular_on_41_nodes(graphs):
  assert len(graphs) == 150
  for i, record in enumerate(graphs):
    assert int(record["graph_id"]) == i and int(record["label"]) == i // 15
    senders, receivers = record["senders"], record["receivers"]
    assert len(senders) == 164 and np.all(senders != receivers)
    pairs = set(zip(senders.tolist(), receivers.tolist()))
    assert len(pairs) == 164 and all((r, s) in pairs for s, r in pairs)  # simple, both directions
    np.testing.assert_array_equal(np.bincount(senders, minlength=41), 4)
    np.testing.assert_array_equal(np.bincount(receivers, minlength=41), 4)


def test_classes_are_non_isomorphic_but_1wl_equivalent(graphs):
  nx_graphs = [_nx_graph(r) for r in graphs]
  reps = nx_graphs[::15]
  for a, b in itertools.combinations(range(10), 2):
    assert not nx.vf2pp_is_isomorphic(reps[a], reps[b]), (a, b)
  for i, graph in enumerate(nx_graphs):  # the copies are relabellings of their class graph
    assert nx.vf2pp_is_isomorphic(graph, reps[i // 15]), i
  with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # networkx 3.5 hash-change notice
    hashes = {nx.weisfeiler_lehman_graph_hash(g, iterations=6) for g in nx_graphs}
  assert len(hashes) == 1


def test_laplacian_spectra_separate_the_classes(graphs):
  spectra = np.stack(
    [scipy.linalg.eigvalsh(nx.normalized_laplacian_matrix(_nx_graph(r), nodelist=range(41)).toarray()) for r in graphs]
  )
  stored = np.stack([r["lap_eigval"] for r in graphs])
  np.testing.assert_allclose(stored, spectra[:, 1:21], atol=1e-5)
  for label in range(10):
    same_class = stored[label * 15 : (label + 1) * 15]
    np.testing.assert_allclose(same_class, np.broadcast_to(same_class[0], same_class.shape), atol=1e-5)
  for a, b in itertools.combinations(range(10), 2):
    assert np.abs(stored[a * 15] - stored[b * 15]).max() > 1e-2, (a, b)


def test_stored_encodings_match_the_edges(graphs):
  for record in graphs[::7]:
    args = (record["senders"], record["receivers"], 41)
    np.testing.assert_allclose(record["rwse"], encodings.rwse(*args, 20), atol=1e-6)
    lap = np.eye(41) - nx.to_numpy_array(_nx_graph(record), nodelist=range(41)) / 4.0
    vec, val = record["lap_eigvec"], record["lap_eigval"]
    np.testing.assert_allclose(lap @ vec, vec * val, atol=1e-5)


def test_folds_are_stratified_and_test_folds_partition(splits):
  test_ids = []
  for fold in range(csl.NUM_FOLDS):
    ids = {}
    for name, size in zip(csl.split_names(fold), (90, 30, 30)):
      records = splits[name]
      assert len(records) == size, name
      labels = np.array([int(r["label"]) for r in records])
      np.testing.assert_array_equal(np.bincount(labels, minlength=10), size // 10)
      ids[name] = {int(r["graph_id"]) for r in records}
    assert set.union(*ids.values()) == set(range(150))
    assert sum(len(v) for v in ids.values()) == 150  # disjoint
    test_ids.extend(ids[f"test_fold{fold}"])
  assert sorted(test_ids) == list(range(150))


def test_split_names_rejects_bad_fold():
  with pytest.raises(ValueError, match="fold=5"):
    csl.split_names(5)


def test_building_twice_gives_identical_records(tmp_path, splits):
  csl.prepare(tmp_path)
  again = _read_all(tmp_path)
  for name in ALL_SPLITS:
    assert len(again[name]) == len(splits[name])
    for a, b in zip(again[name], splits[name]):
      assert a.keys() == b.keys()
      for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}/{key}")


def test_prepare_is_idempotent(data_dir):
  info = data_dir / "csl" / "1.0.0" / "dataset_info.json"
  stamp = info.stat().st_mtime_ns
  csl.prepare(data_dir)
  assert info.stat().st_mtime_ns == stamp


def test_concurrent_prepare(tmp_path):
  # flock excludes separate open files even within one process, so threads
  # exercise the same lock as separate processes would, at no import cost.
  with concurrent.futures.ThreadPoolExecutor(3) as pool:
    list(pool.map(csl.prepare, [tmp_path] * 3))
  assert sorted(os.listdir(tmp_path / "csl")) == ["1.0.0"]  # no leftover incomplete dirs
  assert len(_read_all(tmp_path)["test_fold0"]) == 30


def test_records_collate_with_pad_graphs(splits):
  records = splits["val_fold2"][:4]
  out = batch_lib.pad_graphs(records, max_nodes=48, max_edges=200)
  assert out["node_features"].shape == (4, 48, 1)
  assert out["lap_eigvec"].shape == (4, 48, 20) and out["rwse"].shape == (4, 48, 20)
  assert out["edge_features"].shape == (4, 200, 1) and out["lap_eigval"].shape == (4, 20)
  assert out["node_mask"].sum() == 4 * 41 and out["edge_mask"].sum() == 4 * 164
  np.testing.assert_array_equal(out["label"], [int(r["label"]) for r in records])
  np.testing.assert_array_equal(out["lap_eigvec"][1, :41], records[1]["lap_eigvec"])
  assert np.all(out["lap_eigvec"][:, 41:] == 0)
  graph = batch_lib.GraphBatch.from_batch(out)
  assert graph.num_nodes == 48
