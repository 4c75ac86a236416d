"""Padded graph batches: per-graph and packed edge lists give the same node/edge computations; pair keys."""

import jax.numpy as jnp
import numpy as np
import pytest

from graph_helpers import FE, graphs, pad_batch
from research.graph.batch import PAIR_KEYS, GraphBatch, pad_graphs
from research.graph.shortest_paths import shortest_path_distances, shortest_path_edges


def test_packs_offset_node_indices_and_fill_edges_in_order():
  records = graphs(0, sizes=(3, 4, 2, 5))
  out = pad_graphs(records, max_nodes=6, max_edges=40, graphs_per_pack=2)
  assert out["senders"].shape == (2, 40) and out["node_mask"].shape == (4, 6)
  e0, e1 = len(records[0]["senders"]), len(records[1]["senders"])
  np.testing.assert_array_equal(out["senders"][0, :e0], records[0]["senders"])
  np.testing.assert_array_equal(out["senders"][0, e0 : e0 + e1], records[1]["senders"] + 6)  # second graph of the pack
  np.testing.assert_array_equal(out["edge_features"][0, e0 : e0 + e1], records[1]["edge_features"])
  assert out["edge_mask"][0].sum() == e0 + e1 and not out["edge_mask"][0, e0 + e1 :].any()
  np.testing.assert_array_equal(out["receivers"][1, : len(records[2]["receivers"])], records[2]["receivers"])


@pytest.mark.parametrize("graphs_per_pack", [2, 4])
def test_gather_aggregate_and_softmax_do_not_depend_on_packing(graphs_per_pack):
  records = graphs(1)
  single, packed = pad_batch(records), pad_batch(records, graphs_per_pack=graphs_per_pack)
  h = jnp.asarray(np.random.default_rng(0).normal(size=(4, 8, 3)).astype(np.float32))

  def node_results(batch):
    messages = batch.gather(h, batch.senders) * batch.gather(h, batch.receivers)
    weights = batch.edge_softmax(messages.sum(-1), batch.receivers)
    return batch.aggregate(messages, batch.receivers), batch.aggregate(weights, batch.receivers)

  for got, want in zip(node_results(packed), node_results(single)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_overflowing_pack_names_the_budget():
  records = graphs(2, sizes=(6, 6))
  with pytest.raises(ValueError, match="max_edges=12 per pack of 2 graph"):
    pad_graphs(records, max_nodes=8, max_edges=12, graphs_per_pack=2)
  with pytest.raises(ValueError, match="packs of graphs_per_pack=3"):
    pad_graphs(records, max_nodes=8, max_edges=100, graphs_per_pack=3)


def _with_pairs(rec: dict, max_distance: int = 3) -> dict:
  """A record with Graphormer's pair keys: spd [n, n] and path_edges [n, n, max_distance]."""
  args = (rec["senders"], rec["receivers"], rec["num_nodes"])
  return dict(rec, spd=shortest_path_distances(*args), path_edges=shortest_path_edges(*args, max_distance))


def test_pair_keys_are_padded_with_their_padding_value():
  records = [_with_pairs(r) for r in graphs(3, sizes=(4, 6, 1))]
  out = pad_graphs(records, max_nodes=7, max_edges=40)
  assert out["spd"].shape == (3, 7, 7) and out["spd"].dtype == np.int16
  assert out["path_edges"].shape == (3, 7, 7, 3) and out["path_edges"].dtype == np.int16
  for b, rec in enumerate(records):
    n = rec["num_nodes"]
    np.testing.assert_array_equal(out["spd"][b, :n, :n], rec["spd"])
    np.testing.assert_array_equal(out["path_edges"][b, :n, :n], rec["path_edges"])  # one graph per pack: no offset
    outside = np.ones((7, 7), bool)
    outside[:n, :n] = False
    np.testing.assert_array_equal(out["spd"][b][outside], PAIR_KEYS["spd"])
    np.testing.assert_array_equal(out["path_edges"][b][outside], -1)


def test_path_edge_ids_are_offset_to_the_pack_edge_list():
  records = [_with_pairs(r) for r in graphs(4, sizes=(3, 5, 4, 2))]
  out = pad_graphs(records, max_nodes=6, max_edges=60, graphs_per_pack=2)
  for b, rec in enumerate(records):
    pack, n = b // 2, rec["num_nodes"]
    start = 0 if b % 2 == 0 else len(records[b - 1]["senders"])
    ids, padded = rec["path_edges"], out["path_edges"][b, :n, :n]
    np.testing.assert_array_equal(padded, np.where(ids >= 0, ids + start, -1))
    # Each padded id names, in the pack's edge list, the same edge as the record's id in its own list.
    hop = ids >= 0
    local = (b % 2) * 6  # the graph's first node in the pack
    np.testing.assert_array_equal(out["senders"][pack][padded[hop]], rec["senders"][ids[hop]] + local)
    np.testing.assert_array_equal(out["receivers"][pack][padded[hop]], rec["receivers"][ids[hop]] + local)


def test_edge_id_pair_keys_widen_to_int32_only_for_large_budgets():
  records = [_with_pairs(r) for r in graphs(5, sizes=(3, 4))]
  assert pad_graphs(records, max_nodes=4, max_edges=2**15)["path_edges"].dtype == np.int16
  assert pad_graphs(records, max_nodes=4, max_edges=2**15 + 1)["path_edges"].dtype == np.int32


def test_bad_pair_keys_name_the_graph_and_key():
  rec = _with_pairs(graphs(6, sizes=(4,))[0])
  with pytest.raises(ValueError, match=r"'spd' of graph 0 has shape \(3, 3\)"):
    pad_graphs([dict(rec, spd=rec["spd"][:3, :3])], max_nodes=5, max_edges=20)
  foreign = rec["path_edges"].copy()
  foreign[0, 1, 0] = len(rec["senders"])  # one past the graph's edges
  with pytest.raises(ValueError, match=rf"'path_edges' of graph 0 holds edge ids in \[-1, {len(rec['senders'])}\]"):
    pad_graphs([dict(rec, path_edges=foreign)], max_nodes=5, max_edges=20)


@pytest.mark.parametrize("graphs_per_pack", [2, 4])
def test_gather_edges_reads_each_graph_own_edges(graphs_per_pack):
  records = [_with_pairs(r) for r in graphs(7)]
  single, packed = pad_batch(records), pad_batch(records, graphs_per_pack=graphs_per_pack)
  assert isinstance(packed.path_edges, jnp.ndarray) and packed.spd.shape == (4, 8, 8)

  def edge_values(batch):  # [S, E, 2]: each edge's own features, with a marker for real edges
    return jnp.concatenate([batch.edge_features, batch.edge_mask[..., None].astype(jnp.float32)], axis=-1)

  got = packed.gather_edges(edge_values(packed), packed.path_edges)  # [B, N, N, K, FE + 1]
  np.testing.assert_allclose(got, single.gather_edges(edge_values(single), single.path_edges))
  for b, rec in enumerate(records):
    n, ids = rec["num_nodes"], rec["path_edges"]
    features = np.concatenate([rec["edge_features"], np.zeros((1, FE), np.float32)])  # id -1: the zero row
    want = features[ids]
    np.testing.assert_allclose(got[b, :n, :n, :, :-1], want)
    np.testing.assert_array_equal(got[b, :n, :n, :, -1], ids >= 0)
    np.testing.assert_array_equal(got[b, n:], 0.0)


def _with_expander(rec: dict, seed: int) -> dict:
  """A second edge list, as Exphormer's expander edges: two random targets per node, both directions."""
  rng, n = np.random.default_rng(seed), rec["num_nodes"]
  forward = np.concatenate([rng.permutation(n) for _ in range(2)]).astype(np.int32)
  source = np.tile(np.arange(n, dtype=np.int32), 2)
  senders, receivers = np.concatenate([source, forward]), np.concatenate([forward, source])
  return dict(rec, expander_senders=senders, expander_receivers=receivers)


def test_expander_edges_are_packed_like_the_real_edges():
  records = [_with_expander(r, i) for i, r in enumerate(graphs(5, sizes=(3, 4, 2, 5)))]
  out = pad_graphs(records, max_nodes=6, max_edges=40, graphs_per_pack=2, max_expander_edges=30)
  assert out["expander_senders"].shape == out["expander_mask"].shape == (2, 30)
  assert out["expander_senders"].dtype == np.int32 and out["expander_mask"].dtype == bool
  for pack in range(2):
    first, second = records[2 * pack], records[2 * pack + 1]
    e0, e1 = len(first["expander_senders"]), len(second["expander_senders"])
    for key in ("expander_senders", "expander_receivers"):
      np.testing.assert_array_equal(out[key][pack, :e0], first[key])
      np.testing.assert_array_equal(out[key][pack, e0 : e0 + e1], second[key] + 6)  # offset of the pack's 2nd graph
      np.testing.assert_array_equal(out[key][pack, e0 + e1 :], 0)
    assert out["expander_mask"][pack].sum() == e0 + e1 and not out["expander_mask"][pack, e0 + e1 :].any()
  # The real edges are packed as before.
  plain = pad_graphs([{k: v for k, v in r.items() if not k.startswith("expander")} for r in records], 6, 40, 2)
  for key, value in plain.items():
    np.testing.assert_array_equal(out[key], value, err_msg=key)


def test_expander_edges_are_left_out_without_a_budget():
  records = [_with_expander(r, i) for i, r in enumerate(graphs(6, sizes=(3, 4)))]
  out = pad_graphs(records, max_nodes=6, max_edges=40)
  assert not any(k.startswith("expander") for k in out)
  batch = GraphBatch.from_batch({k: jnp.asarray(v) for k, v in out.items()})
  assert batch.expander_senders is None and batch.expander_mask is None


@pytest.mark.parametrize("graphs_per_pack", [2, 4])
def test_aggregate_and_softmax_over_the_expander_list_do_not_depend_on_packing(graphs_per_pack):
  records = [_with_expander(r, i) for i, r in enumerate(graphs(7))]

  def batch(p):
    padded = pad_graphs(records, 8, 32 * p, p, max_expander_edges=40 * p)
    return GraphBatch.from_batch({k: jnp.asarray(v) for k, v in padded.items()})

  h = jnp.asarray(np.random.default_rng(1).normal(size=(4, 8, 3)).astype(np.float32))

  def node_results(b):
    messages = b.gather(h, b.expander_senders) * b.gather(h, b.expander_receivers)
    weights = b.edge_softmax(messages.sum(-1), b.expander_receivers, b.expander_mask)
    return b.aggregate(messages, b.expander_receivers, b.expander_mask), b.aggregate(
      weights, b.expander_receivers, b.expander_mask
    )

  single = batch(1)
  for got, want in zip(node_results(batch(graphs_per_pack)), node_results(single)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  # Against a per-graph reference: the sum over each node's incoming expander edges, duplicates included.
  messages, _ = node_results(single)
  for b, rec in enumerate(records):
    x = np.asarray(h[b])
    want = np.zeros_like(x)
    np.add.at(want, rec["expander_receivers"], x[rec["expander_senders"]] * x[rec["expander_receivers"]])
    np.testing.assert_allclose(messages[b], want, rtol=1e-5, atol=1e-6)
  # The default mask is still edge_mask: the real edges' softmax sums to one per receiving node.
  weights = single.edge_softmax(jnp.zeros(single.senders.shape), single.receivers)
  np.testing.assert_allclose(
    single.aggregate(weights, single.receivers)[
      single.node_mask & (single.aggregate(jnp.ones(single.senders.shape), single.receivers) > 0)
    ],
    1.0,
    rtol=1e-6,
  )


def test_bad_expander_edges_name_the_budget_or_the_graph():
  records = [_with_expander(r, i) for i, r in enumerate(graphs(8, sizes=(6, 6)))]
  with pytest.raises(ValueError, match="max_expander_edges=30 per pack of 2 graph"):
    pad_graphs(records, max_nodes=8, max_edges=100, graphs_per_pack=2, max_expander_edges=30)
  with pytest.raises(ValueError, match=r"Graph 1 has no \['expander_senders', 'expander_receivers'\]"):
    pad_graphs([records[0], graphs(8, sizes=(6,))[0]], max_nodes=8, max_edges=100, max_expander_edges=30)
  broken = dict(records[0], expander_receivers=records[0]["expander_receivers"] + 6)
  with pytest.raises(ValueError, match=r"it has 6 nodes: ids must lie in \[0, 6\)"):
    pad_graphs([broken], max_nodes=8, max_edges=100, max_expander_edges=30)
  broken = dict(records[0], expander_receivers=records[0]["expander_receivers"][:-1])
  with pytest.raises(ValueError, match="24 expander_senders but 23 expander_receivers"):
    pad_graphs([broken], max_nodes=8, max_edges=100, max_expander_edges=30)


@pytest.mark.parametrize("graphs_per_pack", [2, 4])
def test_pairs_and_per_graph_edges_do_not_depend_on_packing(graphs_per_pack):
  records = graphs(3)
  single, packed = pad_batch(records), pad_batch(records, graphs_per_pack=graphs_per_pack)
  values = lambda batch: jnp.ones(batch.senders.shape, jnp.float32)
  np.testing.assert_array_equal(packed.to_pairs(values(packed)), single.to_pairs(values(single)))
  for record, pairs in zip(records, np.asarray(single.to_pairs(values(single)))):  # the adjacency, [receiver, sender]
    expected = np.zeros((8, 8))
    np.add.at(expected, (record["receivers"], record["senders"]), 1.0)
    np.testing.assert_array_equal(pairs, expected)
  np.testing.assert_array_equal(packed.pair_mask, single.pair_mask)
  for got, want in zip(packed.per_graph_edges(), single.per_graph_edges()):
    got, want = np.asarray(got), np.asarray(want)
    mask_got, mask_want = np.asarray(packed.per_graph_edges()[2]), np.asarray(single.per_graph_edges()[2])
    for b in range(len(records)):  # the same real edges per graph, in the same order
      np.testing.assert_array_equal(got[b][mask_got[b]], want[b][mask_want[b]])
