"""Symmetry, padding and training-mode tests for GatedGCN and the Graph Transformer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from graph_helpers import FE, SIZES, F, K, R, empty_graph, graphs, pad_batch, permute
from research import models
from research.models import build_model
from research.models.graph.gated_gcn import GatedGCNLayer
from research.models.graph.gt import sparse_attention

nnx.use_eager_sharding(False)  # partitioned params outside a mesh

HIDDEN = 16
CONFIGS = {
  "gated_gcn": ("gated_gcn", {}),
  "gt_sparse": ("gt", {"num_heads": 4, "attention": "sparse"}),
  "gt_full": ("gt", {"num_heads": 4, "attention": "full"}),
}


def _model(config, *, pe="lap", readout="mean", dropout=0.0, seed=0, **overrides):
  name, extra = CONFIGS[config]
  kwargs = dict(
    hidden_dim=HIDDEN,
    num_layers=2,
    out_dim=3,
    node_in_dim=F,
    edge_in_dim=FE,
    pe=pe,
    pe_dim={"lap": K, "rwse": R}.get(pe, 0),
    dropout=dropout,
    readout=readout,
    batch_norm=True,
    residual=True,
  )
  return build_model(name, rngs=nnx.Rngs(params=seed, dropout=seed + 1), **(kwargs | extra | overrides))


def _eval_model(config, **kwargs):
  model = _model(config, **kwargs)
  model.eval()
  return model


def test_registry():
  assert {"gated_gcn", "gps", "gt"} <= set(models.MODEL_NAMES)
  with pytest.raises(ValueError, match="exphormer, fidnet_v3, gated_gcn, gps, graphormer, grit, gt, san"):
    build_model("nope", rngs=nnx.Rngs(0))


@pytest.mark.parametrize("pe", ["none", "lap"])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_graph_output_permutation_invariant(config, pe):
  model = _eval_model(config, pe=pe, readout="max" if config == "gt_full" else "mean")
  records = graphs()
  rng = np.random.default_rng(7)
  permuted = [permute(r, rng)[0] for r in records]
  out = model(pad_batch(records))
  assert out.shape == (len(records), 3)
  np.testing.assert_allclose(model(pad_batch(permuted)), out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_node_outputs_permutation_equivariant(config):
  model = _eval_model(config, pe="lap", readout="none")
  records = graphs(1)
  rng = np.random.default_rng(3)
  permuted, perms = zip(*(permute(r, rng) for r in records))
  out, out_perm = model(pad_batch(records)), model(pad_batch(list(permuted)))
  assert out.shape == (len(records), 8, 3)
  for b, (n, perm) in enumerate(zip(SIZES, perms)):
    np.testing.assert_allclose(out_perm[b, :n], out[b, perm], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out[b, n:], 0.0)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_extra_padding_changes_nothing(config, train):
  # Train mode checks that padding stays out of BatchNorm statistics; it uses an
  # encoding without random sign flips so both calls see the same inputs.
  model = _model(config, pe="rwse" if train else "lap", readout="sum")
  model.train() if train else model.eval()
  records = graphs(2)
  empty = empty_graph(records[0])
  out = model(pad_batch(records))
  out_padded = model(pad_batch(records + [empty], max_nodes=13, max_edges=50))
  np.testing.assert_allclose(out_padded[: len(records)], out, rtol=1e-4, atol=1e-5)
  np.testing.assert_array_equal(np.isfinite(out_padded), True)


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_train_step_finite_stochastic_and_reseedable(config):
  model = _model(config, pe="lap", dropout=0.3, num_layers=1)  # one layer keeps the compile short
  batch = pad_batch(graphs(3))  # padded nodes and edges, a one-node graph
  loss_and_grad = nnx.jit(nnx.value_and_grad(lambda m, b: jnp.mean(m(b) ** 2)))
  losses = []
  for seed in (1, 1, 2):
    nnx.reseed(model, dropout=jax.random.key(seed))
    loss, grads = loss_and_grad(model, batch)
    leaves = jax.tree.leaves(grads)
    assert leaves and all(np.all(np.isfinite(g)) for g in leaves)
    assert any(np.any(g != 0) for g in leaves)
    losses.append(float(loss))
  assert np.isfinite(losses[0]) and losses[1] == pytest.approx(losses[0], rel=1e-5)
  assert losses[2] != pytest.approx(losses[0], rel=1e-3)  # dropout and sign flips are live
  model.eval()
  np.testing.assert_array_equal(model(batch), model(batch))


def test_sparse_and_full_gt_agree_on_complete_graphs():
  records = graphs(5, sizes=(5, 3, 1, 6), complete=True)
  batch = pad_batch(records)
  sparse, full = _eval_model("gt_sparse", readout="none"), _eval_model("gt_full", readout="none")
  nnx.update(full, nnx.state(sparse))
  np.testing.assert_allclose(full(batch), sparse(batch), rtol=1e-4, atol=1e-5)
  sparse.train(), full.train()
  np.testing.assert_allclose(full(batch), sparse(batch), rtol=1e-4, atol=1e-5)


def test_lap_sym_pe_is_the_lap_pe_reading_the_symmetric_laplacian_field():
  # pe="lap_sym" (the GT's LapPE on datasets that store both Laplacians) embeds graph.lap_sym_eigvec exactly as
  # pe="lap" embeds graph.lap_eigvec.
  lap = _eval_model("gt_sparse", pe="lap", readout="none")
  sym = _eval_model("gt_sparse", pe="lap_sym", pe_dim=K, readout="none")
  nnx.update(sym, nnx.state(lap))
  batch = pad_batch(graphs(9))
  moved = batch.replace(lap_eigvec=None, lap_sym_eigvec=batch.lap_eigvec)
  np.testing.assert_allclose(sym(moved), lap(batch), rtol=1e-6, atol=1e-6)
  with pytest.raises(ValueError, match=r"reads graph\.lap_sym_eigvec, but the batch has none"):
    sym(batch)
  with pytest.raises(ValueError, match=r"graph\.lap_sym_eigvec has 4 channels but the model was built with pe_dim=5"):
    _eval_model("gt_sparse", pe="lap_sym", pe_dim=K + 1, readout="none")(moved)


def test_featureless_graphs():
  # CSL-style: no node or edge features, node input from the PE alone.
  model = _eval_model("gated_gcn", node_in_dim=0, edge_in_dim=0)
  out = model(pad_batch(graphs(6)))
  assert out.shape == (len(SIZES), 3) and np.all(np.isfinite(out))


def _linear(layer, x):
  return x @ np.asarray(layer.kernel[...]) + np.asarray(layer.bias[...])


def _edges(batch, b):
  """Real (sender, receiver) pairs of graph b."""
  real = np.asarray(batch.edge_mask[b])
  return list(zip(np.asarray(batch.senders[b])[real], np.asarray(batch.receivers[b])[real]))


def test_gated_gcn_layer_matches_per_edge_reference():
  # e_hat_ij = C e_ij + D h_j + E h_i for the edge j -> i (reference code convention),
  # h_i' = h_i + ReLU(A h_i + sum_j sigma_ij B h_j / (sum_j sigma_ij + 1e-6)).
  batch = pad_batch(graphs(8))
  layer = GatedGCNLayer(HIDDEN, dropout=0.0, batch_norm=False, residual=True, rngs=nnx.Rngs(0))
  rng = np.random.default_rng(0)
  h = rng.normal(size=(len(SIZES), 8, HIDDEN)).astype(np.float32)
  e = rng.normal(size=(len(SIZES), 32, HIDDEN)).astype(np.float32)
  h_out, e_out = layer(jnp.asarray(h), jnp.asarray(e), batch)
  sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))
  for b, n in enumerate(SIZES):
    num, den = np.zeros((n, HIDDEN)), np.zeros((n, HIDDEN))
    for idx, (j, i) in enumerate(_edges(batch, b)):
      e_hat = _linear(layer.C, e[b, idx]) + _linear(layer.D, h[b, j]) + _linear(layer.E, h[b, i])
      np.testing.assert_allclose(e_out[b, idx], e[b, idx] + np.maximum(e_hat, 0), rtol=1e-4, atol=1e-5)
      num[i] += sigmoid(e_hat) * _linear(layer.B, h[b, j])
      den[i] += sigmoid(e_hat)
    h_ref = h[b, :n] + np.maximum(_linear(layer.A, h[b, :n]) + num / (den + 1e-6), 0)
    np.testing.assert_allclose(h_out[b, :n], h_ref, rtol=1e-4, atol=1e-5)


def test_sparse_attention_matches_per_edge_reference():
  # w_ij = exp(clip(q_i . k_j / sqrt(d), -5, 5)) / sum_j' exp(...), summed at receivers i.
  batch = pad_batch(graphs(9))
  rng = np.random.default_rng(1)
  q, k, v = (3.0 * rng.normal(size=(len(SIZES), 8, 2, 4)).astype(np.float32) for _ in range(3))
  out = sparse_attention(jnp.asarray(q), jnp.asarray(k), jnp.asarray(v), batch, 5.0)
  for b, n in enumerate(SIZES):
    num, den = np.zeros((n, 2, 4)), np.zeros((n, 2, 1))
    for j, i in _edges(batch, b):
      w = np.exp(np.clip(np.sum(q[b, i] * k[b, j], -1, keepdims=True) / 2.0, -5, 5))
      num[i] += w * v[b, j]
      den[i] += w
    np.testing.assert_allclose(out[b, :n], num / np.maximum(den, 1e-30), rtol=1e-4, atol=1e-5)
