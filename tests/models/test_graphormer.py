"""Graphormer: official parameter count, attention biases against loops, symmetries, padding, packing."""

import math

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from flax import nnx

from graph_helpers import EDGE_VOCAB, NODE_VOCAB, SIZES, empty_graph, graphs, pad_batch
from research.graph.shortest_paths import shortest_path_distances, shortest_path_edges
from research.models.graph.graphormer import Graphormer

nnx.use_eager_sharding(False)  # partitioned params outside a mesh

HOPS = 3  # multi_hop_max_dist of the small test models; records store one more hop than they read
_forward = nnx.jit(lambda model, batch: model(batch))  # one compile per shape: faster than op by op


def _with_pairs(rec: dict, max_distance: int = HOPS + 1) -> dict:
  args = (rec["senders"], rec["receivers"], rec["num_nodes"])
  return dict(rec, spd=shortest_path_distances(*args), path_edges=shortest_path_edges(*args, max_distance))


def _records(seed: int, sizes: tuple[int, ...] = SIZES) -> list[dict]:
  return [_with_pairs(r) for r in graphs(seed, sizes, categorical=True)]


def _model(seed: int = 0, **overrides) -> Graphormer:
  kwargs = dict(
    hidden_dim=16,
    num_layers=2,
    num_heads=4,
    out_dim=1,
    node_vocab=NODE_VOCAB,
    edge_vocab=EDGE_VOCAB,
    num_degrees=4,
    num_spatial=6,
    num_edge_distances=4,
    multi_hop_max_dist=HOPS,
  )
  model = Graphormer(rngs=nnx.Rngs(params=seed, dropout=seed + 1), **(kwargs | overrides))
  # Embeddings start at N(0, 0.02^2); make the structural biases large enough to matter.
  bias, rng = model.attention_bias, np.random.default_rng(seed)
  params = [bias.spatial.embedding, bias.virtual_distance]
  if bias.edge is not None:
    params += [bias.edge.embedding, bias.hop_weights]
  for param in params:
    param[...] = jnp.asarray(rng.normal(size=param.shape), jnp.float32)
  return model


def _num_params(model) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


def test_parameter_count_matches_the_official_slim_zinc_model():
  # Official v1.0 graphormer/model.py, dataset_name='ZINC', 12 layers, 80 dims, 8 heads, FFN 80:
  #   atom 64*80 + in/out degree 2*64*80 + edge 64*8 + edge_dis 40*8*8 + spatial 40*8   = 18,752
  #   per layer: 2 LayerNorms 2*160 + q, k, v, out 4*(80*80+80) + FFN 2*(80*80+80)      = 39,200 (x 12)
  #   final_ln 160 + out_proj 80+1 + graph_token 80 + virtual distance 8                = 329
  # 18,752 + 470,400 + 329 = 489,481. The README's "489.3K" matches neither this code nor the fairseq rewrite.
  model = nnx.eval_shape(
    lambda: Graphormer(
      hidden_dim=80,
      num_layers=12,
      num_heads=8,
      ffn_dim=80,
      out_dim=1,
      node_vocab=64,
      edge_vocab=64,
      num_degrees=64,
      num_spatial=40,
      num_edge_distances=40,
      multi_hop_max_dist=20,
      rngs=nnx.Rngs(0),
    )
  )
  assert _num_params(model) == 489_481


def _reference_bias(model: Graphormer, rec: dict) -> np.ndarray:
  """The [H, 1 + n, 1 + n] bias of one graph, pair by pair and hop by hop, from its unpadded record."""
  bias = model.attention_bias
  spatial, t = np.asarray(bias.spatial.embedding[...]), np.asarray(bias.virtual_distance[...])
  edge, hop_w = np.asarray(bias.edge.embedding[...]), np.asarray(bias.hop_weights[...])
  n, k = rec["num_nodes"], bias.multi_hop_max_dist
  out = np.zeros((len(t), 1 + n, 1 + n), np.float32)
  out[:, 0, :] = t[:, None]
  out[:, :, 0] = t[:, None]
  for i in range(n):
    for j in range(n):
      d = int(rec["spd"][i, j])
      value = spatial[min(d + 1, len(spatial) - 1)].copy()
      if i != j and d < 510:  # the official divisor: clamp(d, 1, k) hops
        path, kept = rec["path_edges"][i, j], min(d, k)
        value += sum(edge[rec["edge_features"][path[h]]].mean(axis=0) @ hop_w[h] for h in range(kept)) / kept
      out[:, 1 + i, 1 + j] = value
  return out


def _graph_record(graph: nx.Graph, rng: np.random.Generator) -> dict:
  pairs = np.array(list(graph.edges()), np.int32).reshape(-1, 2)
  senders, receivers = np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
  n = graph.number_of_nodes()
  return _with_pairs(
    {
      "num_nodes": n,
      "senders": senders,
      "receivers": receivers,
      "node_features": rng.integers(0, NODE_VOCAB, (n, 1)).astype(np.int32),
      "edge_features": rng.integers(0, EDGE_VOCAB, (len(senders), 2)).astype(np.int32),  # two columns: averaged
    }
  )


def test_spatial_and_edge_biases_match_a_loop_reference():
  rng = np.random.default_rng(0)
  records = [
    _graph_record(nx.disjoint_union(nx.path_graph(3), nx.cycle_graph(4)), rng),  # unreachable pairs
    _graph_record(nx.path_graph(8), rng),  # distances past the spatial table and the kept hops
    _graph_record(nx.petersen_graph(), rng),  # ties between shortest paths
    _graph_record(nx.path_graph(1), rng),
  ]
  model = _model()
  batch = pad_batch(records, max_nodes=10, max_edges=40, graphs_per_pack=2)  # the second graph's ids are offset
  got = np.asarray(nnx.jit(lambda bias, g: bias(g))(model.attention_bias, batch))
  assert got.shape == (4, 4, 11, 11)
  for b, rec in enumerate(records):
    n = rec["num_nodes"]
    np.testing.assert_allclose(got[b, :, : 1 + n, : 1 + n], _reference_bias(model, rec), rtol=1e-5, atol=1e-5)


def test_centrality_encoding_embeds_features_and_degrees():
  # Directed star 0 -> 1, 0 -> 2, 0 -> 3 and 1 -> 0: out-degrees 3, 1, 0, 0; in-degrees 1, 1, 1, 1.
  rec = {
    "num_nodes": 4,
    "senders": np.array([0, 0, 0, 1], np.int32),
    "receivers": np.array([1, 2, 3, 0], np.int32),
    "node_features": np.array([[0, 1], [2, 2], [4, 0], [3, 1]], np.int32),
    "edge_features": np.zeros((4, 1), np.int32),
  }
  batch = pad_batch([_with_pairs(rec)], max_nodes=5)
  out_degree, in_degree = np.array([3, 1, 0, 0]), np.array([1, 1, 1, 1])
  for directed in (False, True):
    model = _model(directed_degrees=directed)
    table = lambda module: np.asarray(module.embedding[...])
    entering = in_degree if directed else out_degree  # official: both tables read the adjacency row sums
    want = table(model.node)[rec["node_features"]].sum(axis=1)
    want += table(model.in_degree)[np.minimum(entering + 1, 3)]  # 4 rows: degrees >= 2 share the last
    want += table(model.out_degree)[np.minimum(out_degree + 1, 3)]
    got = np.asarray(model.embed_nodes(batch))[0]
    np.testing.assert_allclose(got[:4], want, rtol=1e-6)
    np.testing.assert_array_equal(got[4], 0.0)


def _permute(rec: dict, rng: np.random.Generator) -> dict:
  """Relabels nodes (new i = old perm[i]) and reorders edges, carrying the pair keys along."""
  n, e = rec["num_nodes"], len(rec["senders"])
  perm, order = rng.permutation(n), rng.permutation(e)
  new_node, new_edge = np.argsort(perm), np.append(np.argsort(order), -1)  # new_edge[-1] keeps -1
  old_ids = rec["path_edges"][perm][:, perm]
  return dict(
    rec,
    senders=new_node[rec["senders"][order]].astype(np.int32),
    receivers=new_node[rec["receivers"][order]].astype(np.int32),
    node_features=rec["node_features"][perm],
    edge_features=rec["edge_features"][order],
    spd=rec["spd"][perm][:, perm],
    path_edges=new_edge[old_ids].astype(old_ids.dtype),
  )


def test_graph_output_is_invariant_to_node_permutation():
  model = _model()
  model.eval()
  records = _records(1)
  rng = np.random.default_rng(3)
  out, out_perm = _forward(model, pad_batch(records)), _forward(model, pad_batch([_permute(r, rng) for r in records]))
  assert out.shape == (len(SIZES), 1)
  np.testing.assert_allclose(out_perm, out, rtol=1e-4, atol=1e-5)


def test_extra_padding_changes_nothing():
  model = _model()
  model.eval()
  records = _records(2)
  out = _forward(model, pad_batch(records))
  padded = pad_batch(records + [_with_pairs(empty_graph(records[0]))], max_nodes=13, max_edges=50)
  out_padded = _forward(model, padded)
  assert np.all(np.isfinite(out_padded))
  np.testing.assert_allclose(out_padded[: len(records)], out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("graphs_per_pack", [2, 4])
def test_packed_edge_lists_give_the_same_outputs(graphs_per_pack):
  model = _model()
  model.eval()
  records = _records(6)
  np.testing.assert_allclose(
    _forward(model, pad_batch(records, graphs_per_pack=graphs_per_pack)),
    _forward(model, pad_batch(records)),
    rtol=1e-4,
    atol=1e-5,
  )


def test_gradients_are_finite_with_a_one_node_graph_and_dropout_is_live():
  model = _model(dropout=0.2, input_dropout=0.2, attention_dropout=0.3, activation_dropout=0.2)
  records = _records(3, sizes=(1,))
  batch = pad_batch(records + [_with_pairs(empty_graph(records[0]))])
  loss_and_grad = nnx.jit(nnx.value_and_grad(lambda m, b: jnp.mean(m(b) ** 2)))
  losses = []
  for seed in (1, 1, 2):
    nnx.reseed(model, dropout=jax.random.key(seed))
    loss, grads = loss_and_grad(model, batch)
    assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    losses.append(float(loss))
  assert np.abs(np.asarray(grads.attention_bias.spatial.embedding[...])).sum() > 0  # the bias is trained
  assert losses[1] == pytest.approx(losses[0], rel=1e-5)
  assert losses[2] != pytest.approx(losses[0], rel=1e-3)


def test_without_edge_vocab_the_edge_encoding_is_off():
  model = _model(edge_vocab=0)
  records = [dict(r) for r in _records(4)]
  for r in records:
    del r["path_edges"]
  batch = pad_batch(records)
  biases = nnx.jit(lambda bias, g: (bias(g), bias.spatial_bias(g)))
  full, spatial_only = biases(model.attention_bias, batch)
  np.testing.assert_allclose(full[:, :, 1:, 1:], spatial_only, rtol=1e-6)
  assert np.all(np.isfinite(_forward(model, batch)))


def test_errors_name_the_offending_value():
  records = _records(5)
  with pytest.raises(ValueError, match="graph.spd"):
    _model()(pad_batch([{k: v for k, v in r.items() if k != "spd"} for r in records]))
  with pytest.raises(ValueError, match="reads 3 hops .* the batch has 2"):
    _model()(pad_batch([_with_pairs(r, max_distance=2) for r in records]))
  float_features = [dict(r, node_features=r["node_features"].astype(np.float32)) for r in records]
  with pytest.raises(ValueError, match="graph.node_features; got dtype float32"):
    _model()(pad_batch(float_features))
  with pytest.raises(ValueError, match=r"multi_hop_max_dist=5 must be in \[1, num_edge_distances=4\]"):
    _model(multi_hop_max_dist=5)
  with pytest.raises(ValueError, match="node_vocab=0"):
    _model(node_vocab=0)
