"""GRIT: parameter counts of the official configs, symmetries, padding, and one layer against a loop reference."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from graph_helpers import EDGE_VOCAB, FE, NODE_VOCAB, SIZES, F, empty_graph, graphs, pad_batch, permute
from research.graph.rrwp import rrwp
from research.models.graph.grit import GRIT, GritLayer

nnx.use_eager_sharding(False)  # partitioned params outside a mesh

STEPS = 5  # RRWP channels in the small models

# Node-level on float features, and graph-level on category ids (ZINC-style); the featureless-edge
# (DummyEdge, PATTERN-style) encoder is checked in the encoder test.
CONFIGS = {
  "node_float": dict(out_dim=2, node_in_dim=F, edge_in_dim=FE, head="node"),
  "graph_categorical": dict(out_dim=1, node_vocab=NODE_VOCAB, edge_vocab=EDGE_VOCAB, head="graph", graph_pooling="sum"),
}


def _model(config, *, seed=0, **overrides):
  kwargs = dict(hidden_dim=8, num_layers=2, num_heads=2, rrwp_steps=STEPS)
  return GRIT(rngs=nnx.Rngs(params=seed, dropout=seed + 1), **(kwargs | CONFIGS[config] | overrides))


_apply = nnx.jit(lambda model, batch: model(batch))  # one compiled forward per model structure and batch shape


def _graphs_for(config, seed):
  return graphs(seed, categorical="categorical" in config)


def _num_params(model) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


@pytest.mark.parametrize(
  "name,kwargs,count",
  [
    # configs/GRIT/{zinc,pattern,cluster}-GRIT-RRWP.yaml of LiamMa/GRIT, counted from the official code:
    # per layer 11 D^2 + 17 D + D d (Q with bias, K and V without, E to 2D with bias, W_A, W_Ev [d, H, d],
    # O_h, O_e, degree scaler [D, 2], three BatchNorms, FFN D -> 2D -> D), two bias-free RRWP Linear(K, D),
    # the node/edge encoders (TypeDict 21/4 types; Linear(3 or 7, D) and DummyEdge) and the head
    # (san_graph 64-32-16-1; GraphGym MLP with 3 layers).
    (
      "ZINC",
      dict(
        hidden_dim=64,
        num_layers=10,
        num_heads=8,
        out_dim=1,
        node_vocab=21,
        edge_vocab=4,
        rrwp_steps=21,
        head="graph",
        graph_pooling="sum",
      ),
      473_473,
    ),
    ("PATTERN", dict(hidden_dim=64, num_layers=10, num_heads=8, out_dim=1, node_in_dim=3, rrwp_steps=21), 477_953),
    ("CLUSTER", dict(hidden_dim=48, num_layers=16, num_heads=8, out_dim=6, node_in_dim=7, rrwp_steps=32), 431_670),
  ],
)
def test_parameter_counts_match_the_official_configs(name, kwargs, count):
  model = nnx.eval_shape(lambda: GRIT(rngs=nnx.Rngs(0), attn_dropout=0.2, **kwargs))
  assert _num_params(model) == count, name


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_permutation_symmetry(config):
  model = _model(config)
  model.eval()
  records = _graphs_for(config, 1)
  rng = np.random.default_rng(3)
  permuted, perms = zip(*(permute(r, rng) for r in records))
  out, out_perm = _apply(model, pad_batch(records)), _apply(model, pad_batch(list(permuted)))
  if CONFIGS[config]["head"] == "graph":
    assert out.shape == (len(SIZES), 1)
    np.testing.assert_allclose(out_perm, out, rtol=1e-4, atol=1e-5)  # invariant
    return
  assert out.shape == (len(SIZES), 8, CONFIGS[config]["out_dim"])
  for b, (n, perm) in enumerate(zip(SIZES, perms)):  # equivariant
    np.testing.assert_allclose(out_perm[b, :n], out[b, perm], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out[b, n:], 0.0)


@pytest.mark.parametrize("config,train", [("node_float", False), ("node_float", True), ("graph_categorical", False)])
def test_extra_padding_changes_nothing(config, train):
  # Train mode checks that padded nodes and pairs stay out of the BatchNorm statistics.
  model = _model(config)
  model.train() if train else model.eval()
  records = _graphs_for(config, 2)
  out = _apply(model, pad_batch(records))
  out_padded = _apply(model, pad_batch(records + [empty_graph(records[0])], max_nodes=11, max_edges=40))
  assert np.all(np.isfinite(out_padded))
  kept = out_padded[: len(records), : out.shape[1]] if out.ndim == 3 else out_padded[: len(records)]
  np.testing.assert_allclose(kept, out, rtol=1e-4, atol=1e-5)


def test_packed_edge_lists_give_the_same_outputs():
  model = _model("node_float")
  model.eval()
  records = _graphs_for("node_float", 6)
  np.testing.assert_allclose(
    _apply(model, pad_batch(records, graphs_per_pack=2)), _apply(model, pad_batch(records)), rtol=1e-4, atol=1e-5
  )


def test_gradients_are_finite_with_one_node_and_empty_graphs():
  # Attention dropout only: the other dropouts are nnx.Dropout as elsewhere, and each adds seconds of compile.
  model = _model("node_float", attn_dropout=0.5, num_layers=1)
  records = graphs(3)  # SIZES holds a one-node graph
  assert min(r["num_nodes"] for r in records) == 1
  batch = pad_batch(records + [empty_graph(records[0])])
  loss_and_grad = nnx.jit(nnx.value_and_grad(lambda m, b: jnp.mean(m(b) ** 2)))
  losses = []
  for seed in (1, 1, 2):
    nnx.reseed(model, dropout=jax.random.key(seed))
    loss, grads = loss_and_grad(model, batch)
    leaves = jax.tree.leaves(grads)
    assert np.isfinite(float(loss)) and all(np.all(np.isfinite(g)) for g in leaves)
    losses.append(float(loss))
  assert losses[1] == pytest.approx(losses[0], rel=1e-5)
  assert losses[2] != pytest.approx(losses[0], rel=1e-5)  # attention dropout is live
  first = grads.layers[0]
  for name, g in [
    ("W_Q", first.attention.query.kernel),
    ("W_A", first.attention.score),
    ("W_Ev", first.attention.pair_value),
    ("theta", first.deg_coef),
    ("RRWP pair", grads.rrwp_encoder.pair.kernel),
    ("RRWP node", grads.rrwp_encoder.node.kernel),
  ]:
    assert np.any(np.asarray(g[...]) != 0), name


def _randomize(module, seed):
  """Random parameters (biases and norms included) and running statistics, so every term is exercised."""
  rng = np.random.default_rng(seed)
  params = jax.tree.map(lambda x: jnp.asarray(0.3 * rng.normal(size=x.shape), x.dtype), nnx.state(module, nnx.Param))
  stats = nnx.state(module, nnx.BatchStat)
  stats = jax.tree.map(lambda x: jnp.asarray(rng.uniform(0.5, 1.5, size=x.shape), x.dtype), stats)
  nnx.update(module, params, stats)


def _np(x):
  return np.asarray(x[...], np.float64)


def _reference_layer(layer, h, e, deg):
  """GritTransformerLayer in eval mode for one graph, in loops over the pairs of the official sparse code.

  h [n, D], e [n, n, D] with e[i, j] the pair (query i, key j), deg [n] -> (h, e).
  """
  att = layer.attention
  nh, d = att.num_heads, att.head_dim
  n = h.shape[0]
  lin = lambda m, x: x @ _np(m.kernel) + (_np(m.bias) if m.bias is not None else 0.0)
  q, k, v = (lin(m, h).reshape(n, nh, d) for m in (att.query, att.key, att.value))
  aw, ve = _np(att.score), _np(att.pair_value)
  e_hat = np.zeros((n, n, nh, d))
  logits = np.zeros((n, n, nh))
  for i in range(n):  # query (edge target)
    for j in range(n):  # key (edge source)
      proj = lin(att.pair, e[i, j]).reshape(nh, 2 * d)
      s = (q[i] + k[j]) * proj[:, :d]
      s = np.sqrt(np.maximum(s, 0)) - np.sqrt(np.maximum(-s, 0)) + proj[:, d:]
      e_hat[i, j] = np.maximum(s, 0)
      for head in range(nh):
        logits[i, j, head] = np.clip(e_hat[i, j, head] @ aw[:, head], -5.0, 5.0)
  h_att = np.zeros((n, nh, d))
  for i in range(n):
    for head in range(nh):
      w = np.exp(logits[i, :, head] - logits[i, :, head].max())
      w = w / (w.sum() + 1e-16)  # pyg_softmax
      h_att[i, head] = sum(w[j] * v[j, head] for j in range(n))
      h_att[i, head] += sum(w[j] * e_hat[i, j, head] for j in range(n)) @ ve[:, head, :]
  h_att = h_att.reshape(n, -1)
  coef = _np(layer.deg_coef)
  h_att = h_att * coef[:, 0] + h_att * np.log(deg + 1.0)[:, None] * coef[:, 1]

  def bn(norm, x):
    b = norm.batch_norm
    return (x - _np(b.mean)) / np.sqrt(_np(b.var) + 1e-5) * _np(b.scale) + _np(b.bias)

  h = bn(layer.norm_h, h + lin(layer.out_h, h_att))
  e = bn(layer.norm_e, e + lin(layer.out_e, e_hat.reshape(n, n, -1)))
  ffn = lin(layer.ffn.layers[1], np.maximum(lin(layer.ffn.layers[0], h), 0))
  return bn(layer.norm_ffn, h + ffn), e


def test_layer_matches_a_loop_reference_and_ignores_padding():
  dim, sizes, n_pad = 8, (4, 2), 6
  layer = GritLayer(dim, 2, dropout=0.0, attn_dropout=0.0, rngs=nnx.Rngs(0))
  _randomize(layer, 1)
  layer.eval()
  rng = np.random.default_rng(0)
  node_mask = np.arange(n_pad)[None, :] < np.array(sizes)[:, None]  # [B, N]
  pair_mask = node_mask[:, :, None] & node_mask[:, None, :]
  h = rng.normal(size=(len(sizes), n_pad, dim))
  e = rng.normal(size=(len(sizes), n_pad, n_pad, dim))
  deg = rng.integers(0, 4, size=(len(sizes), n_pad)).astype(np.float64)
  garbage_h, garbage_e = np.where(node_mask[..., None], h, 50.0), np.where(pair_mask[..., None], e, -50.0)
  f32 = lambda x: jnp.asarray(x, jnp.float32)
  out_h, out_e = nnx.jit(lambda m, *args: m(*args))(
    layer, f32(garbage_h), f32(garbage_e), f32(np.log1p(deg))[..., None], jnp.asarray(node_mask), jnp.asarray(pair_mask)
  )
  for b, n in enumerate(sizes):
    ref_h, ref_e = _reference_layer(layer, h[b, :n], e[b, :n, :n], deg[b, :n])
    np.testing.assert_allclose(out_h[b, :n], ref_h, rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(out_e[b, :n, :n], ref_e, rtol=2e-4, atol=2e-4)
  np.testing.assert_array_equal(np.where(node_mask[..., None], 0.0, out_h), 0.0)
  np.testing.assert_array_equal(np.where(pair_mask[..., None], 0.0, out_e), 0.0)


@pytest.mark.parametrize("edge_features,graphs_per_pack", [(True, 2), (False, 1)])
def test_encoder_puts_rrwp_and_edge_features_on_receiver_sender_pairs(edge_features, graphs_per_pack):
  # Directed edges (one direction only, one sink) so that (receiver, sender) and (sender, receiver) differ.
  model = _model("node_float", edge_in_dim=FE if edge_features else 0)
  rng = np.random.default_rng(5)
  records = []
  for n, edges in [(4, [(0, 1), (1, 2), (2, 0), (3, 0)]), (3, [(0, 1), (2, 1)])]:
    senders = np.array([s for s, _ in edges], np.int32)
    receivers = np.array([r for _, r in edges], np.int32)
    records.append(
      dict(
        num_nodes=n,
        senders=senders,
        receivers=receivers,
        node_features=rng.normal(size=(n, F)).astype(np.float32),
        edge_features=rng.normal(size=(len(edges), FE)).astype(np.float32),
      )
    )
  batch = pad_batch(records, max_nodes=5, max_edges=6, graphs_per_pack=graphs_per_pack)
  h, e, log_deg = nnx.jit(lambda m, b: m.encode(b))(model, batch)
  lin = lambda m, x: x @ _np(m.kernel) + (_np(m.bias) if m.bias is not None else 0.0)
  embed = model.edge_encoder.embed
  edge_embedding = (lambda x: lin(embed.linear, x)) if edge_features else (lambda x: _np(embed.table.embedding)[0])
  for b, rec in enumerate(records):
    n = rec["num_nodes"]
    pe = rrwp(rec["senders"], rec["receivers"], n, STEPS).astype(np.float64)
    ref_e = lin(model.rrwp_encoder.pair, pe)
    for s, r, feat in zip(rec["senders"], rec["receivers"], rec["edge_features"]):
      ref_e[r, s] += edge_embedding(feat)  # query r attends to key s
    diagonal = pe[np.arange(n), np.arange(n)]
    ref_h = lin(model.node_features.linear, rec["node_features"]) + lin(model.rrwp_encoder.node, diagonal)
    out_degree = np.bincount(rec["senders"], minlength=n)
    np.testing.assert_allclose(e[b, :n, :n], ref_e, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h[b, :n], ref_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(log_deg[b, :n, 0], np.log1p(out_degree), rtol=1e-6)
    np.testing.assert_array_equal(e[b, n:], 0.0)
    np.testing.assert_array_equal(e[b, :, n:], 0.0)
    np.testing.assert_array_equal(h[b, n:], 0.0)


def test_signed_sqrt_has_finite_gradient_at_zero():
  from research.models.graph.grit import signed_sqrt

  x = jnp.array([-4.0, 0.0, 9.0])
  np.testing.assert_allclose(signed_sqrt(x), [-2.0, 0.0, 3.0])
  np.testing.assert_allclose(jax.grad(lambda y: jnp.sum(signed_sqrt(y)))(x), [0.25, 0.0, 1.0 / 6.0], rtol=1e-6)


def test_bad_configurations_are_refused():
  with pytest.raises(ValueError, match="hidden_dim=8 is not divisible by num_heads=3"):
    _model("node_float", num_heads=3)
  with pytest.raises(ValueError, match="head='edge'"):
    _model("node_float", head="edge")
  with pytest.raises(ValueError, match="graph_pooling='none'"):
    _model("graph_categorical", graph_pooling="none")
  with pytest.raises(ValueError, match="rrwp_steps=0"):
    _model("node_float", rrwp_steps=0)
  with pytest.raises(ValueError, match="head_layers=0"):
    _model("graph_categorical", head_layers=0)
  with pytest.raises(ValueError, match="category ids"):
    _model("node_float", node_in_dim=0)
