"""Padded graph batches: per-graph and packed edge lists give the same node/edge computations."""

import jax.numpy as jnp
import numpy as np
import pytest

from graph_helpers import graphs, pad_batch
from research.graph.batch import pad_graphs


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
