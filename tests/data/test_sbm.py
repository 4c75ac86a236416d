"""Tests for the PATTERN / CLUSTER generator and TFDS builders (research/data/sbm)."""

from __future__ import annotations

import os

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import tensorflow_datasets as tfds
import threadpoolctl

from research.data import sbm
from research.data.sbm import generator as gen
from research.data.sbm import sbm as builders
from research.data.sbm import stats

TINY_SIZES = {"train": 64, "val": 16, "test": 16}
KEYS = {
  "graph_id",
  "num_nodes",
  "senders",
  "receivers",
  "node_features",
  "edge_features",
  "node_labels",
  "lap_eigvec",
  "lap_eigval",
  "lap_sym_eigvec",
  "lap_sym_eigval",
  "expander_senders",
  "expander_receivers",
}
VERSION = "1.2.0"


def _read(data_dir, name: str) -> dict[str, list[dict]]:
  out = {}
  for split in sbm.SPLITS:
    source = tfds.data_source(f"{name}/tiny", split=split, data_dir=os.fspath(data_dir), download=False)
    out[split] = [source[i] for i in range(len(source))]
  return out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  path = tmp_path_factory.mktemp("tfds")
  for name in sbm.NAMES:
    sbm.prepare(path, name, "tiny")
  return path


@pytest.fixture(scope="module")
def tiny(data_dir) -> dict[str, dict[str, list[dict]]]:
  return {name: _read(data_dir, name) for name in sbm.NAMES}


def _adjacency(graph: gen.SbmGraph) -> np.ndarray:
  adj = np.zeros((graph.num_nodes, graph.num_nodes), bool)
  adj[graph.senders, graph.receivers] = True
  return adj


def _graphs_equal(a: gen.SbmGraph, b: gen.SbmGraph) -> bool:
  fields = ("senders", "receivers", "node_inputs", "node_labels", "communities")
  return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)


# --- records of the built datasets ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sbm.NAMES)
def test_records_have_the_documented_fields_shapes_and_dtypes(tiny, name):
  width = sbm.INPUT_DIMS[name]
  for split, records in tiny[name].items():
    assert len(records) == TINY_SIZES[split]
    for i, r in enumerate(records):
      assert set(r) == KEYS
      n, e = int(r["num_nodes"]), len(r["senders"])
      assert int(r["graph_id"]) == i
      for key in ("senders", "receivers", "node_labels", "expander_senders", "expander_receivers"):
        assert r[key].dtype == np.int32, key
      for key in ("node_features", "edge_features", "lap_eigvec", "lap_eigval", "lap_sym_eigvec", "lap_sym_eigval"):
        assert r[key].dtype == np.float32, key
      assert r["receivers"].shape == (e,) and r["node_labels"].shape == (n,)
      assert r["node_features"].shape == (n, width)
      np.testing.assert_array_equal(r["node_features"].sum(axis=1), 1.0)  # one-hot
      assert set(np.unique(r["node_features"])) <= {0.0, 1.0}
      assert r["edge_features"].shape == (e, 1) and np.all(r["edge_features"] == 1.0)
      assert r["lap_eigvec"].shape == (n, sbm.PE_DIM) and r["lap_eigval"].shape == (sbm.PE_DIM,)
      assert r["lap_sym_eigvec"].shape == (n, sbm.LAP_SYM_PE_DIM) and r["lap_sym_eigval"].shape == (sbm.LAP_SYM_PE_DIM,)
      assert 0 <= r["node_labels"].min() and r["node_labels"].max() < sbm.NUM_CLASSES[name]


@pytest.mark.parametrize("name", sbm.NAMES)
def test_edges_are_symmetric_sorted_without_self_loops_or_duplicates(tiny, name):
  for records in tiny[name].values():
    for r in records:
      s, t = r["senders"].astype(np.int64), r["receivers"].astype(np.int64)
      assert np.all(s != t)
      assert s.min() >= 0 and max(s.max(), t.max()) < int(r["num_nodes"])
      key = s * int(r["num_nodes"]) + t
      assert np.all(np.diff(key) > 0)  # strictly increasing (sender, receiver): sorted, no duplicates
      np.testing.assert_array_equal(np.sort(t * int(r["num_nodes"]) + s), key)  # every reverse edge present


@pytest.mark.parametrize("name", sbm.NAMES)
def test_lap_pe_is_the_combinatorial_laplacian_spectrum_with_the_trivial_pair(tiny, name):
  for r in tiny[name]["val"][::3]:
    n = int(r["num_nodes"])
    adj = np.zeros((n, n))
    adj[r["senders"], r["receivers"]] = 1.0
    lap = np.diag(adj.sum(axis=1)) - adj
    vec, val = r["lap_eigvec"].astype(np.float64), r["lap_eigval"].astype(np.float64)
    np.testing.assert_allclose(val, scipy.linalg.eigvalsh(lap)[: sbm.PE_DIM], rtol=1e-5, atol=1e-4)
    assert abs(val[0]) < 1e-4  # the trivial (constant) eigenvector is kept
    np.testing.assert_allclose(lap @ vec, vec * val, atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(vec, axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", sbm.NAMES)
def test_lap_sym_pe_is_the_normalised_laplacian_spectrum_after_the_trivial_pair(tiny, name):
  # The Graph Transformer's LapPE (data/SBMs.py of graphdeeplearning/graphtransformer): L = I - D^-1/2 A D^-1/2,
  # degrees clipped to >= 1, the eigenvectors after the first; its configs read 2 (PATTERN) and 10 (CLUSTER).
  assert sbm.LAP_SYM_PE_DIM == 10
  for r in tiny[name]["val"][::3]:
    n = int(r["num_nodes"])
    adj = np.zeros((n, n))
    adj[r["senders"], r["receivers"]] = 1.0
    scale = 1.0 / np.sqrt(np.maximum(adj.sum(axis=1), 1.0))
    lap = np.eye(n) - scale[:, None] * adj * scale[None, :]
    vec, val = r["lap_sym_eigvec"].astype(np.float64), r["lap_sym_eigval"].astype(np.float64)
    np.testing.assert_allclose(val, scipy.linalg.eigvalsh(lap)[1 : sbm.LAP_SYM_PE_DIM + 1], rtol=1e-5, atol=1e-5)
    assert val[0] > 1e-3 and np.all(np.diff(val) >= 0)  # the trivial (zero) eigenvalue is skipped; ascending
    np.testing.assert_allclose(lap @ vec, vec * val, atol=1e-4)
    np.testing.assert_allclose(vec.T @ vec, np.eye(sbm.LAP_SYM_PE_DIM), atol=1e-4)  # orthonormal columns
    trivial = np.sqrt(adj.sum(axis=1))  # D^1/2 1 spans the zero eigenspace of a connected graph
    np.testing.assert_allclose(trivial @ vec, 0.0, atol=1e-3)


def test_records_are_the_generators_graphs(tiny):
  patterns = gen.make_patterns(sbm.SEED, 4)
  pattern_val = list(gen.pattern_split(sbm.SEED, "val", patterns, 4))
  pattern_rngs = [builders.pattern_expander_rng("val", m, k) for m in range(4) for k in range(4)]
  cluster_test = list(gen.cluster_split(sbm.SEED, "test", 16))
  cluster_rngs = [builders.cluster_expander_rng("test", i) for i in range(16)]
  for name, graphs, rngs, records, width in (
    ("pattern", pattern_val, pattern_rngs, tiny["pattern"]["val"], 3),
    ("cluster", cluster_test, cluster_rngs, tiny["cluster"]["test"], 7),
  ):
    assert len(graphs) == len(records), name
    for i, (graph, rng, record) in enumerate(zip(graphs, rngs, records)):
      with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):  # as prepare() builds: same eigh rounding
        expected = builders.make_record(graph, i, width, expander_degree=sbm.EXPANDER_DEGREES[name], expander_rng=rng)
      for key, value in expected.items():
        np.testing.assert_array_equal(record[key], value, err_msg=f"{name} {key}")


@pytest.mark.parametrize("name", sbm.NAMES)
def test_expander_edges_are_the_official_random_d_expander_of_the_configs_degree(tiny, name):
  # Exphormer's exp_deg: 7 permutations for PATTERN, 3 for CLUSTER (configs/Exphormer/*.yaml).
  degree = {"pattern": 7, "cluster": 3}[name]
  assert sbm.EXPANDER_DEGREES[name] == degree
  for config in ("full", "tiny"):
    builder = {"pattern": sbm.Pattern, "cluster": sbm.Cluster}[name]
    assert builder.builder_configs[config].expander_degree == degree
  seen = set()
  for records in tiny[name].values():
    for r in records:
      n, s, t = int(r["num_nodes"]), r["expander_senders"], r["expander_receivers"]
      assert len(s) == len(t) == 2 * degree * n  # every PATTERN / CLUSTER graph has more than 10 nodes
      assert s.min() >= 0 and max(s.max(), t.max()) < n
      np.testing.assert_array_equal(np.bincount(s, minlength=n), 2 * degree)  # 2d-regular, self-loops counted
      np.testing.assert_array_equal(np.bincount(t, minlength=n), 2 * degree)
      half = degree * n  # v -> sigma(v) for each permutation, then the same edges reversed
      np.testing.assert_array_equal(s[:half], np.tile(np.arange(n), degree))
      np.testing.assert_array_equal(s[half:], t[:half])
      np.testing.assert_array_equal(t[half:], s[:half])
      seen.add(t[:half].tobytes())
  assert len(seen) == sum(len(records) for records in tiny[name].values())  # a different draw for every graph


def test_expander_draws_depend_on_the_graph_not_on_the_config():
  # A tiny graph has the expander edges of the same graph in the full config: its Generator is keyed by
  # (split, pattern, index) or (split, index), not by the record's position.
  a = builders.pattern_expander_rng("train", 3, 5).permutation(50)
  np.testing.assert_array_equal(a, builders.pattern_expander_rng("train", 3, 5).permutation(50))
  assert not np.array_equal(a, builders.pattern_expander_rng("val", 3, 5).permutation(50))
  assert not np.array_equal(a, builders.pattern_expander_rng("train", 5, 3).permutation(50))
  b = builders.cluster_expander_rng("train", 7).permutation(50)
  assert not np.array_equal(b, builders.cluster_expander_rng("train", 8).permutation(50))


def test_pattern_patterns_are_shared_by_the_three_splits(tiny):
  per_pattern = {"train": 16, "val": 4, "test": 4}  # the tiny config: 4 patterns x (16, 4, 4)
  signatures = {}
  for split, records in tiny["pattern"].items():
    for i, r in enumerate(records):
      planted = r["node_labels"] == 1
      features = np.sort(r["node_features"][planted].argmax(axis=1))
      signatures.setdefault(i // per_pattern[split], set()).add((int(planted.sum()), features.tobytes()))
  assert sorted(signatures) == [0, 1, 2, 3]
  assert all(len(s) == 1 for s in signatures.values())  # one pattern per group, in every split
  assert len({next(iter(s)) for s in signatures.values()}) == 4  # and four different patterns


# --- the generator ------------------------------------------------------------------------------------------


def test_generator_is_deterministic_per_seed_and_differs_across_seeds():
  def pattern(seed):
    return list(gen.pattern_split(seed, "train", gen.make_patterns(seed, 2), 3))

  def cluster(seed):
    return list(gen.cluster_split(seed, "val", 5))

  for make in (pattern, cluster):
    a, b, c = make(0), make(0), make(1)
    assert all(_graphs_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not any(_graphs_equal(x, y) for x, y in zip(a, c))


def test_splits_and_indices_draw_different_graphs():
  graphs = list(gen.cluster_split(0, "train", 3)) + list(gen.cluster_split(0, "test", 3))
  for i in range(len(graphs)):
    for j in range(i):
      assert not _graphs_equal(graphs[i], graphs[j]), (i, j)


def test_pattern_graphs_plant_the_pattern_with_its_edges_and_features():
  patterns = gen.make_patterns(3, 3)
  for m, pattern in enumerate(patterns):
    assert gen.PATTERN_SIZE_MIN <= pattern.num_nodes <= gen.PATTERN_SIZE_MAX
    assert not pattern.adjacency.diagonal().any() and np.array_equal(pattern.adjacency, pattern.adjacency.T)
    reference = nx.from_numpy_array(pattern.adjacency.astype(int))
    nx.set_node_attributes(reference, dict(enumerate(pattern.features.tolist())), "x")
    for graph in gen.pattern_split(3, "test", patterns[m : m + 1], 3):
      planted = np.flatnonzero(graph.node_labels == 1)
      np.testing.assert_array_equal(graph.node_labels, graph.communities == gen.PATTERN_NUM_COMMUNITIES)
      assert len(planted) == pattern.num_nodes
      sub = nx.from_numpy_array(_adjacency(graph)[np.ix_(planted, planted)].astype(int))
      nx.set_node_attributes(sub, dict(enumerate(graph.node_inputs[planted].tolist())), "x")
      assert nx.vf2pp_is_isomorphic(sub, reference, node_label="x"), m
      assert graph.node_inputs.max() < gen.PATTERN_VOCAB_SIZE


def test_cluster_graphs_have_one_hint_per_community():
  for graph in gen.cluster_split(5, "train", 20):
    np.testing.assert_array_equal(graph.node_labels, graph.communities)
    hinted = np.flatnonzero(graph.node_inputs > 0)
    assert len(hinted) == gen.CLUSTER_NUM_COMMUNITIES
    np.testing.assert_array_equal(np.sort(graph.node_labels[hinted]), np.arange(gen.CLUSTER_NUM_COMMUNITIES))
    np.testing.assert_array_equal(graph.node_inputs[hinted], graph.node_labels[hinted] + 1)


def test_community_sizes_cover_5_to_34_and_nothing_else():
  rng = np.random.default_rng(0)
  sizes = np.concatenate([gen.community_sizes(rng, 6) for _ in range(300)])
  assert set(sizes.tolist()) == set(range(5, 35))
  for graph in gen.cluster_split(2, "train", 30):
    counts = np.bincount(graph.communities, minlength=gen.CLUSTER_NUM_COMMUNITIES)
    assert counts.min() >= gen.SIZE_MIN and counts.max() <= gen.SIZE_MAX


def _densities(graphs: list[gen.SbmGraph], groups) -> dict[str, float]:
  """Edge density of each kind of node pair: {kind: edges / pairs}, kinds from groups(ci, cj)."""
  edges, pairs = {}, {}
  for graph in graphs:
    adj = _adjacency(graph)
    i, j = np.triu_indices(graph.num_nodes, k=1)
    kinds = groups(graph.communities[i], graph.communities[j])
    for kind in np.unique(kinds):
      sel = kinds == kind
      edges[kind] = edges.get(kind, 0) + int(adj[i[sel], j[sel]].sum())
      pairs[kind] = pairs.get(kind, 0) + int(sel.sum())
  return {kind: edges[kind] / pairs[kind] for kind in edges}


def test_sbm_edge_densities_match_p_and_q():
  # ~2.6e5 within- and ~1.1e6 between-community pairs: a standard error near 1e-3, tolerance 1e-2.
  cluster = _densities(list(gen.cluster_split(7, "train", 200)), lambda a, b: np.where(a == b, "in", "out"))
  assert cluster["in"] == pytest.approx(gen.CLUSTER_P, abs=0.01)
  assert cluster["out"] == pytest.approx(gen.CLUSTER_Q, abs=0.01)

  k = gen.PATTERN_NUM_COMMUNITIES

  def kind(a, b):
    between = np.where(a == b, "in", "out")
    return np.where((a == k) & (b == k), "pattern", np.where((a == k) | (b == k), "to_pattern", between))

  graphs = list(gen.pattern_split(7, "train", gen.make_patterns(7, 10), 20))
  pattern = _densities(graphs, kind)
  assert pattern["in"] == pytest.approx(gen.PATTERN_P, abs=0.01)
  assert pattern["out"] == pytest.approx(gen.PATTERN_Q, abs=0.01)
  assert pattern["to_pattern"] == pytest.approx(gen.PATTERN_Q_P, abs=0.01)
  assert pattern["pattern"] == pytest.approx(gen.PATTERN_P_P, abs=0.05)  # only 10 patterns, fixed per pattern


# --- prepare, stats and errors ------------------------------------------------------------------------------


def test_building_twice_gives_identical_records_and_prepare_is_idempotent(tmp_path, data_dir, tiny, capsys):
  stamp = os.path.getmtime(data_dir / "pattern" / "tiny" / VERSION / "dataset_info.json")
  capsys.readouterr()
  sbm.prepare(data_dir, "pattern", "tiny")  # already there: nothing to do
  assert "Building" not in capsys.readouterr().out
  assert os.path.getmtime(data_dir / "pattern" / "tiny" / VERSION / "dataset_info.json") == stamp
  for name in sbm.NAMES:
    sbm.prepare(tmp_path, name, "tiny")
    again = _read(tmp_path, name)
    for split, records in tiny[name].items():
      for a, b in zip(records, again[split], strict=True):
        for key in KEYS:
          np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}/{split} {key}")


def test_prepare_rejects_unknown_names_and_configs(tmp_path):
  with pytest.raises(ValueError, match=r"name='zinc'.*'pattern', 'cluster'"):
    sbm.prepare(tmp_path, "zinc")
  with pytest.raises(ValueError, match=r"config='small'.*'full', 'tiny'"):
    sbm.prepare(tmp_path, "cluster", "small")
  assert not os.listdir(tmp_path)  # nothing was built


def test_generator_rejects_bad_arguments():
  with pytest.raises(ValueError, match="split='validation'"):
    next(gen.cluster_split(0, "validation", 1))
  with pytest.raises(ValueError, match="num_patterns=0"):
    gen.make_patterns(0, 0)
  with pytest.raises(ValueError, match="name='zinc'"):
    stats.expected_stats("zinc")


def test_stats_of_the_tiny_splits(data_dir, tiny):
  result = stats.dataset_stats(data_dir, "cluster", "tiny")
  records = tiny["cluster"]["train"]
  s = result["train"]
  nodes = np.array([int(r["num_nodes"]) for r in records])
  assert s.num_graphs == 64 and s.mean_nodes == pytest.approx(nodes.mean()) and s.max_nodes == nodes.max()
  assert s.mean_edges == pytest.approx(np.mean([len(r["senders"]) for r in records]))
  labels = np.concatenate([r["node_labels"] for r in records])
  np.testing.assert_allclose(s.class_fractions, np.bincount(labels, minlength=6) / len(labels))
  table = stats.format_table({"cluster": result})
  assert "| cluster | val | 16 |" in table


def test_expected_stats_match_a_generated_sample():
  graphs = list(gen.cluster_split(11, "train", 400))
  expected = stats.expected_stats("cluster")
  assert np.mean([g.num_nodes for g in graphs]) == pytest.approx(expected["nodes"], rel=0.03)
  assert np.mean([len(g.senders) for g in graphs]) == pytest.approx(expected["edges"], rel=0.05)
  assert stats.expected_stats("pattern")["nodes"] == pytest.approx(117.0)


def test_stats_command_line(data_dir, capsys):
  stats.main(["--data_dir", os.fspath(data_dir), "--config", "tiny"])
  out = capsys.readouterr().out
  assert "| pattern | train | 64 |" in out and "| cluster | test | 16 |" in out and "unverified" in out
  with pytest.raises(SystemExit):
    stats.main(["--data_dir", os.fspath(data_dir), "--datasets", "pattern,zinc"])
