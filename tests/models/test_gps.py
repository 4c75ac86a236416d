"""GraphGPS: parameter budgets of the paper, symmetries, padding, and its encoders and head."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from graph_helpers import EDGE_VOCAB, FE, NODE_VOCAB, SIZES, F, K, R, empty_graph, graphs, pad_batch, permute
from research.models import build_model
from research.models.graph.gps_encoders import LapPEDeepSet
from research.models.graph.heads import GraphGymMLPHead

nnx.use_eager_sharding(False)  # partitioned params outside a mesh

# Node-level GatedGCN + Transformer with LapPE (PATTERN-style), and graph-level
# GINE + Transformer on categorical features with RWSE (ZINC-style); the
# ablations without one branch, GatedGCN + Performer, and LapPE through its
# Transformer encoder.
CONFIGS = {
  "node_gatedgcn_lap": dict(
    out_dim=2,
    node_in_dim=F,
    edge_in_dim=FE,
    local_model="gated_gcn",
    pe="lap_deepset",
    pe_dim=4,
    pe_channels=K,
    head="node",
  ),
  "node_gatedgcn_lap_transformer": dict(
    out_dim=2,
    node_in_dim=F,
    edge_in_dim=FE,
    local_model="gated_gcn",
    pe="lap_transformer",
    pe_dim=4,
    pe_channels=K,
    pe_heads=2,
    head="node",
  ),
  "graph_gine_rwse": dict(
    out_dim=1,
    node_vocab=NODE_VOCAB,
    edge_vocab=EDGE_VOCAB,
    local_model="gine",
    pe="rwse",
    pe_dim=4,
    pe_channels=R,
    head="graph",
    graph_pooling="sum",
  ),
  "node_transformer_only": dict(out_dim=2, node_in_dim=F, local_model="none", head="node"),
  "node_mpnn_only": dict(out_dim=2, node_in_dim=F, edge_in_dim=FE, global_model="none", head="node"),
  "node_gatedgcn_performer": dict(
    out_dim=2,
    node_in_dim=F,
    edge_in_dim=FE,
    local_model="gated_gcn",
    global_model="performer",
    head="node",
  ),
}


def _model(config, *, dropout=0.0, attn_dropout=0.0, seed=0, **overrides):
  kwargs = dict(hidden_dim=16, num_layers=2, num_heads=4, dropout=dropout, attn_dropout=attn_dropout)
  return build_model("gps", rngs=nnx.Rngs(params=seed, dropout=seed + 1), **(kwargs | CONFIGS[config] | overrides))


def _graphs_for(config, seed):
  return graphs(seed, categorical="graph" in config)


def _num_params(model) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


@pytest.mark.parametrize(
  "name,kwargs,paper",
  [
    # GraphGPS configs/GPS/pattern-GPS.yaml and cluster-GPS.yaml; the counts are in the paper's App. Table.
    ("PATTERN", dict(hidden_dim=64, num_layers=6, num_heads=4, out_dim=1, node_in_dim=3, pe_channels=16), 337_201),
    ("CLUSTER", dict(hidden_dim=48, num_layers=16, num_heads=8, out_dim=6, node_in_dim=7, pe_channels=10), 502_054),
  ],
)
def test_parameter_counts_match_the_paper(name, kwargs, paper):
  model = build_model("gps", rngs=nnx.Rngs(0), pe="lap_deepset", pe_dim=16, attn_dropout=0.5, **kwargs)
  assert _num_params(model) == paper, name


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_permutation_symmetry(config):
  model = _model(config)
  model.eval()
  records = _graphs_for(config, 1)
  rng = np.random.default_rng(3)
  permuted, perms = zip(*(permute(r, rng) for r in records))
  out, out_perm = model(pad_batch(records)), model(pad_batch(list(permuted)))
  if CONFIGS[config]["head"] == "graph":
    assert out.shape == (len(SIZES), 1)
    np.testing.assert_allclose(out_perm, out, rtol=1e-4, atol=1e-5)  # invariant
    return
  assert out.shape == (len(SIZES), 8, 2)
  for b, (n, perm) in enumerate(zip(SIZES, perms)):  # equivariant
    np.testing.assert_allclose(out_perm[b, :n], out[b, perm], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out[b, n:], 0.0)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_extra_padding_changes_nothing(config, train):
  # Train mode checks that padding stays out of BatchNorm statistics and attention. The LapPE's random sign
  # flips (and its Transformer's dropout) depend on the batch size, so train mode swaps it for RWSE.
  lappe = CONFIGS[config].get("pe", "").startswith("lap_")
  model = _model(config, pe="rwse", pe_channels=R) if lappe and train else _model(config)
  model.train() if train else model.eval()
  records = _graphs_for(config, 2)
  out = model(pad_batch(records))
  out_padded = model(pad_batch(records + [empty_graph(records[0])], max_nodes=13, max_edges=50))
  assert np.all(np.isfinite(out_padded))
  np.testing.assert_allclose(
    out_padded[: len(records), : out.shape[1]] if out.ndim == 3 else out_padded[: len(records)],
    out,
    rtol=1e-4,
    atol=1e-5,
  )


def test_train_step_finite_stochastic_and_reseedable():
  model = _model("node_gatedgcn_lap", dropout=0.2, attn_dropout=0.5, num_layers=1)
  batch = pad_batch(graphs(3))
  loss_and_grad = nnx.jit(nnx.value_and_grad(lambda m, b: jnp.mean(m(b) ** 2)))
  losses = []
  for seed in (1, 1, 2):
    nnx.reseed(model, dropout=jax.random.key(seed))
    loss, grads = loss_and_grad(model, batch)
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    losses.append(float(loss))
  assert losses[1] == pytest.approx(losses[0], rel=1e-5)
  assert losses[2] != pytest.approx(losses[0], rel=1e-3)  # dropout, attention dropout and sign flips are live
  model.eval()
  np.testing.assert_array_equal(model(batch), model(batch))


def test_performer_trains_its_weights_and_keeps_its_random_features():
  model = _model("node_gatedgcn_performer", dropout=0.2, attn_dropout=0.5, num_layers=1)
  attention = model.layers[0].attention
  assert attention.projection.get_value().shape == (266, 64)  # performer-pytorch: 64-dim heads, int(64 ln 64)
  optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
  batch = pad_batch(graphs(7))

  @nnx.jit
  def step(model, optimizer, batch):
    loss, grads = nnx.value_and_grad(lambda m: jnp.mean(m(batch) ** 2))(model)
    optimizer.update(model, grads)
    return loss, grads

  query, projection = np.asarray(attention.query.kernel[...]), np.asarray(attention.projection[...])
  loss, grads = step(model, optimizer, batch)
  assert np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
  assert np.any(np.asarray(grads["layers"][0]["attention"]["query"]["kernel"][...]) != 0)
  assert not np.allclose(attention.query.kernel[...], query)
  np.testing.assert_array_equal(attention.projection[...], projection)


def test_lappe_ignores_frequencies_a_graph_does_not_have():
  # A 3-node graph has 3 eigenpairs; whatever sits in the stored columns 3.. must not matter.
  encoder = LapPEDeepSet(K, 8, rngs=nnx.Rngs(0))
  encoder.deterministic = True
  records = graphs(4, sizes=(3, 6))
  clean = encoder(pad_batch(records))
  noisy_records = [dict(r) for r in records]
  noisy_records[0]["lap_eigvec"] = records[0]["lap_eigvec"].copy()
  noisy_records[0]["lap_eigvec"][:, 3:] = 7.0
  noisy = encoder(pad_batch(noisy_records))
  np.testing.assert_allclose(noisy, clean, rtol=1e-6)


def test_lappe_deepset_is_a_sum_over_frequencies_of_a_shared_mlp():
  encoder = LapPEDeepSet(K, 8, layers=2, rngs=nnx.Rngs(0))
  encoder.deterministic = True
  records = graphs(5, sizes=(6,))
  out = np.asarray(encoder(pad_batch(records)))[0, :6]
  vec, val = records[0]["lap_eigvec"], records[0]["lap_eigval"]
  phi = lambda x: np.maximum(
    np.maximum(x @ np.asarray(encoder.phi[0].kernel[...]) + np.asarray(encoder.phi[0].bias[...]), 0)
    @ np.asarray(encoder.phi[1].kernel[...])
    + np.asarray(encoder.phi[1].bias[...]),
    0,
  )
  reference = sum(phi(np.stack([vec[:, j], np.full(6, val[j])], axis=-1)) for j in range(K))
  np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-6)


def test_lappe_transformer_reads_the_stored_eigenvectors_and_counts_as_graphgps():
  # GraphGPS's "posenc_LapPE.model: Transformer": SAN's LPE on the tokens (u_j[i], lambda_j) as stored (no row
  # normalisation), a 6-node graph having all K frequencies.
  model = _model("node_gatedgcn_lap_transformer")
  encoder = model.node_encoder.pe
  encoder.eval()
  records = graphs(5, sizes=(6, 3))
  out = np.asarray(encoder(pad_batch(records)))[0, :6]
  vec, val = records[0]["lap_eigvec"], records[0]["lap_eigval"]
  tokens = np.stack([vec, np.broadcast_to(val, vec.shape)], axis=-1)  # [6 nodes, K, 2]
  alone = encoder.encode(jnp.asarray(tokens), jnp.ones((6, K), bool))
  np.testing.assert_allclose(out, alone, rtol=1e-5, atol=1e-6)
  # torch.nn.TransformerEncoderLayer(d_model=p, nhead, batch_first=True) per layer: in/out projections 4p^2 + 4p,
  # FFN p*2048 + 2048 + 2048*p + p, two LayerNorms 4p; plus linear_A(2, p).
  p, layers = 4, 2  # pe_dim of the config, the default pe_layers
  expected = 3 * p + layers * (4 * p * p + 4 * p + 2 * 2048 * p + 2048 + p + 4 * p)
  assert _num_params(encoder) == expected


def test_graphgym_head_normalises_hidden_layers():
  head = GraphGymMLPHead(6, 2, num_layers=3, rngs=nnx.Rngs(0))
  x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
  h = x
  for layer in head.hidden:
    h = np.maximum(h @ np.asarray(layer.kernel[...]) + np.asarray(layer.bias[...]), 0)
    h = h / np.maximum(np.linalg.norm(h, axis=-1, keepdims=True), 1e-12)
  reference = h @ np.asarray(head.out.kernel[...]) + np.asarray(head.out.bias[...])
  np.testing.assert_allclose(head(jnp.asarray(x)), reference, rtol=1e-5, atol=1e-6)


def test_bad_configurations_are_refused():
  with pytest.raises(ValueError, match="local_model='gat'"):
    _model("node_mpnn_only", local_model="gat")
  with pytest.raises(ValueError, match="both are 'none'"):
    _model("node_mpnn_only", local_model="none")
  with pytest.raises(ValueError, match="pe_dim < hidden_dim=16"):
    _model("node_gatedgcn_lap", pe_dim=16)
  with pytest.raises(ValueError, match="batch_norm or layer_norm"):
    _model("node_gatedgcn_lap", layer_norm=True)


@pytest.mark.parametrize("config", ["node_gatedgcn_lap", "graph_gine_rwse"])
def test_packed_edge_lists_give_the_same_outputs(config):
  model = _model(config)
  model.eval()
  records = _graphs_for(config, 6)
  np.testing.assert_allclose(
    model(pad_batch(records, graphs_per_pack=4)), model(pad_batch(records)), rtol=1e-4, atol=1e-5
  )
