"""SAN: official parameter counts, the gamma-weighted attention against a loop reference, LPE, symmetries, padding."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from graph_helpers import EDGE_VOCAB, FE, NODE_VOCAB, SIZES, F, empty_graph, graphs, pad_batch, permute
from research.graph.encodings import laplacian_pe
from research.models.graph.gps_encoders import LearnedLPE
from research.models.graph.san import SAN, san_pairs

nnx.use_eager_sharding(False)  # partitioned params outside a mesh

M = 5  # LPE frequencies: the graphs of 1 and 4 nodes lack some

CONFIGS = {
  # ZINC-style: atom and bond ids, full graph, sum pooling.
  "graph_categorical": dict(out_dim=1, node_vocab=NODE_VOCAB, edge_vocab=EDGE_VOCAB, readout="sum", gamma=1e-2),
  # Node-level with float features on nodes and edges.
  "node_float": dict(out_dim=2, node_in_dim=F, edge_in_dim=FE, readout="none", gamma=0.3),
  # PATTERN/CLUSTER-style featureless edges, sparse variant.
  "node_sparse": dict(out_dim=2, node_in_dim=F, readout="none", full_graph=False),
}
FULL_CONFIGS = ["graph_categorical", "node_float"]  # the sparse variant's attention is a subset of the full one's

# One jitted entry point, so models of the same structure share compilations across tests.
_jitted = nnx.jit(lambda model, graph: model(graph))


def _apply(model, graph) -> np.ndarray:
  return np.asarray(_jitted(model, graph))  # numpy: indexing it compiles nothing


@functools.cache
def _cached_model(config, overrides):
  return _model(config, **dict(overrides))


def _shared_model(config, **overrides):
  """A model built once per configuration (building compiles its initialisers); callers set train/eval."""
  return _cached_model(config, tuple(sorted(overrides.items())))


def _model(config, *, seed=0, **overrides):
  kwargs = dict(
    hidden_dim=16,
    num_layers=1,
    num_heads=4,
    lpe_frequencies=M,
    lpe_dim=4,
    lpe_layers=1,
    lpe_heads=2,
    lpe_ffn_dim=16,
    lpe_dropout=0.0,
  )
  return SAN(rngs=nnx.Rngs(params=seed, dropout=seed + 1), **(kwargs | CONFIGS[config] | overrides))


def _records(seed, sizes=SIZES, categorical=False):
  """graph_helpers graphs with eigenpairs in SAN's convention (normalised Laplacian, trivial pair kept)."""
  records = graphs(seed, sizes, categorical=categorical)
  for r in records:
    r["lap_eigvec"], r["lap_eigval"] = laplacian_pe(
      r["senders"], r["receivers"], r["num_nodes"], M, normalization="sym", skip_trivial=False
    )
  return records


def _records_for(config, seed):
  return _records(seed, categorical=config == "graph_categorical")


def _num_params(**kwargs) -> int:
  model = nnx.eval_shape(lambda: SAN(rngs=nnx.Rngs(0), **kwargs))
  return sum(math.prod(x.shape) for x in jax.tree.leaves(nnx.state(model, nnx.Param)))


# Official configs (configs/*/optimized, and configs/ZINC/ablation/full/*/node for the paper's ZINC model), counted
# as the official SAN_NodeLPE does: embedding_h (vocab x (d - k)), embedding_e ((bond types + 1) x d on ZINC,
# 2 x d on SBMs), linear_A (2k + k), per LPE layer torch TransformerEncoderLayer(k, FFN 2048)
# (4k^2 + 4k + 4096k + 2048 + k + 4k), per SAN layer 7d^2 (Q, K, E, Q_2, K_2, E_2, V) + d^2 + d (O_h)
# + 2 x 2d (BN) + 4d^2 + 3d (FFN), then MLPReadout. E.g. ZINC optimized: 1,344 + 280 + 24 + 2 x 35,144
# + 10 x 38,080 + 2,017 = 454,753. The ablation config gives the 508,577 (~509k) quoted for SAN on ZINC.
@pytest.mark.parametrize(
  "name,kwargs,official",
  [
    (
      "ZINC optimized",
      dict(
        hidden_dim=56,
        num_layers=10,
        num_heads=8,
        out_dim=1,
        node_vocab=28,
        edge_vocab=4,
        gamma=1e-5,
        lpe_frequencies=10,
        lpe_dim=8,
        lpe_layers=2,
        readout="sum",
      ),
      454_753,
    ),
    (
      "ZINC ablation",
      dict(
        hidden_dim=64,
        num_layers=6,
        num_heads=8,
        out_dim=1,
        node_vocab=28,
        edge_vocab=4,
        gamma=1e-6,
        lpe_frequencies=30,
        lpe_dim=16,
        lpe_layers=3,
        readout="mean",
      ),
      508_577,
    ),
    # configs/ZINC/ablation/sparse/node: no Q_2, K_2, E_2 and no extra bond type.
    (
      "ZINC sparse",
      dict(
        hidden_dim=72,
        num_layers=6,
        num_heads=8,
        out_dim=1,
        node_vocab=28,
        edge_vocab=4,
        full_graph=False,
        lpe_frequencies=30,
        lpe_dim=16,
        lpe_layers=3,
        readout="mean",
      ),
      494_865,
    ),
    (
      "PATTERN",
      dict(
        hidden_dim=80,
        num_layers=4,
        num_heads=10,
        out_dim=2,
        node_vocab=3,
        gamma=1e-2,
        lpe_dim=16,
        lpe_layers=3,
        readout="none",
      ),
      520_518,
    ),
    (
      "CLUSTER",
      dict(
        hidden_dim=48,
        num_layers=16,
        num_heads=8,
        out_dim=6,
        node_vocab=7,
        gamma=1e-1,
        lpe_dim=16,
        lpe_layers=1,
        readout="none",
      ),
      519_186,
    ),
  ],
)
def test_parameter_counts_match_the_official_code(name, kwargs, official):
  assert _num_params(lpe_heads=4, **kwargs) == official, name


@pytest.mark.parametrize("config", FULL_CONFIGS)
def test_permutation_symmetry(config):
  model = _shared_model(config)
  model.eval()
  records = _records_for(config, 1)
  rng = np.random.default_rng(3)
  permuted, perms = zip(*(permute(r, rng) for r in records))
  out, out_perm = _apply(model, pad_batch(records)), _apply(model, pad_batch(list(permuted)))
  assert np.all(np.isfinite(out))
  if CONFIGS[config]["readout"] != "none":
    assert out.shape == (len(SIZES), 1)
    np.testing.assert_allclose(out_perm, out, rtol=1e-4, atol=1e-5)  # invariant
    return
  assert out.shape == (len(SIZES), 8, 2)
  for b, (n, perm) in enumerate(zip(SIZES, perms)):  # equivariant
    np.testing.assert_allclose(out_perm[b, :n], out[b, perm], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out[b, n:], 0.0)


@pytest.mark.parametrize("config,train", [("graph_categorical", False), ("node_float", False), ("node_float", True)])
def test_extra_padding_changes_nothing(config, train):
  # Train mode checks that padding stays out of BatchNorm statistics (two layers), the LPE and the attention.
  model = _shared_model(config, num_layers=2) if train else _shared_model(config)
  model.train() if train else model.eval()
  records = _records_for(config, 2)
  out = _apply(model, pad_batch(records))
  out_padded = _apply(model, pad_batch(records + [empty_graph(records[0])], max_nodes=13, max_edges=50))
  assert np.all(np.isfinite(out_padded))
  expected = out_padded[: len(records), : out.shape[1]] if out.ndim == 3 else out_padded[: len(records)]
  np.testing.assert_allclose(expected, out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("config", ["graph_categorical", "node_sparse"])
def test_packed_edge_lists_give_the_same_outputs(config):
  model = _shared_model(config)
  model.eval()
  records = _records_for(config, 6)
  np.testing.assert_allclose(
    _apply(model, pad_batch(records, graphs_per_pack=2)), _apply(model, pad_batch(records)), rtol=1e-4, atol=1e-5
  )


def test_edges_to_pairs_places_each_edge_at_receiver_and_sender():
  records = _records(7)
  for pack in (1, 2):
    graph = pad_batch(records, graphs_per_pack=pack)
    ids = np.arange(graph.senders.size, dtype=np.float32).reshape(graph.senders.shape) + 1  # [S, E]
    pairs = np.asarray(graph.to_pairs(jnp.asarray(ids)))  # [B, N, N]
    for b, r in enumerate(records):
      expected = np.zeros((8, 8))
      start = sum(len(x["senders"]) for x in records[b - b % pack : b])
      for e, (s, t) in enumerate(zip(r["senders"], r["receivers"])):
        expected[t, s] += ids[b // pack, start + e]
      np.testing.assert_array_equal(pairs[b], expected)


def _reference_attention(model, h, records, e_real, e_fake, gamma, full_graph):
  """The official propagate_attention, edge by edge: sum_j c exp(clip(s)) V_j / (sum_j c exp(clip(s)) + 1e-6)."""
  layer = model.layers[0]
  w = lambda lin: np.asarray(lin.kernel[...], np.float64)
  heads, dh = layer.num_heads, layer.head_dim
  split = lambda x: x.reshape(x.shape[:-1] + (heads, dh))
  out = np.zeros(h.shape[:2] + (heads, dh))
  clipped = 0
  for b, r in enumerate(records):
    n, x = r["num_nodes"], np.asarray(h[b], np.float64)
    attn = layer.attention
    q, k, v = split(x @ w(attn.query)), split(x @ w(attn.key)), split(x @ w(attn.value))
    e = split(np.asarray(e_real[b], np.float64) @ w(layer.E))  # [E, H, Dh], graph b's own edges
    if full_graph:
      q2, k2 = split(x @ w(layer.Q_2)), split(x @ w(layer.K_2))
      e2 = split(np.asarray(e_fake, np.float64) @ w(layer.E_2))  # [H, Dh]
    for i in range(n):
      num, z = np.zeros((heads, dh)), np.zeros((heads, 1))
      for j in range(n):
        edge = [t for t, (s, d) in enumerate(zip(r["senders"], r["receivers"])) if s == j and d == i]
        if edge:
          score = np.sum(q[i] * k[j] * e[edge[0]], axis=-1) / math.sqrt(dh)  # [H]
          c = 1 / (1 + gamma) if full_graph else 1.0
        elif full_graph and j != i:
          score = np.sum(q2[i] * k2[j] * e2, axis=-1) / math.sqrt(dh)
          c = gamma / (1 + gamma)
        else:
          continue
        clipped += np.sum(np.abs(score) > 5)
        weight = c * np.exp(np.clip(score, -5, 5))[:, None]  # [H, 1]
        num, z = num + weight * v[j], z + weight
      out[b, i] = num / (z + 1e-6)
  return out.reshape(h.shape[:2] + (-1,)), clipped


@pytest.mark.parametrize("full_graph,gamma", [(True, 0.3), (True, 1e-3), (True, 0.0), (False, 0.3)])
def test_attention_matches_the_official_formula(full_graph, gamma):
  # A 5-node graph with an isolated node and a one-way edge 3 -> 0, a one-node graph, a triangle.
  def record(n, senders, receivers, types):
    return {
      "num_nodes": n,
      "senders": np.array(senders, np.int32),
      "receivers": np.array(receivers, np.int32),
      "node_features": np.zeros((n, 1), np.int32),
      "edge_features": np.array(types, np.int32)[:, None],
    }

  records = [
    record(5, [0, 1, 1, 2, 2, 3, 3], [1, 0, 2, 1, 3, 2, 0], [1, 1, 2, 2, 0, 0, 1]),
    record(1, [], [], []),
    record(3, [0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2], [0, 0, 1, 1, 2, 2]),
  ]
  model = SAN(
    hidden_dim=16,
    num_layers=1,
    num_heads=4,
    out_dim=1,
    node_vocab=1,
    edge_vocab=EDGE_VOCAB,
    lpe_dim=0,
    full_graph=full_graph,
    gamma=gamma,
    rngs=nnx.Rngs(0),
  )
  graph = pad_batch(records, max_nodes=6, max_edges=10)
  h = 4.0 * jax.random.normal(jax.random.key(1), (3, 6, 16))
  h = jnp.where(graph.node_mask[..., None], h, 0.0)
  e_real, e_fake = model.edge_embedding(graph)
  attend = nnx.jit(lambda layer, *args: layer.attend(*args))
  out = attend(model.layers[0], h, graph, e_real, e_fake, san_pairs(graph, full_graph))
  reference, clipped = _reference_attention(
    model, np.asarray(h), records, np.asarray(e_real), np.asarray(e_fake), gamma, full_graph
  )
  assert clipped > 0  # the clamp is exercised
  np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-5)
  np.testing.assert_array_equal(out[1], 0.0)  # a one-node graph attends to nothing


def test_lpe_ignores_missing_frequencies_and_normalises_rows():
  encoder = LearnedLPE(M, 8, num_layers=1, num_heads=2, ffn_dim=16, dropout=0.0, normalize_rows=True, rngs=nnx.Rngs(0))
  records = _records(4, sizes=(3, 6))
  apply = nnx.jit(lambda e, g: e(g))
  clean = np.asarray(apply(encoder, pad_batch(records)))
  noisy = [dict(r) for r in records]
  noisy[0]["lap_eigvec"] = records[0]["lap_eigvec"].copy()
  noisy[0]["lap_eigvec"][:, 3:] = 7.0  # a 3-node graph has 3 eigenpairs
  noisy[0]["lap_eigval"] = records[0]["lap_eigval"].copy()
  noisy[0]["lap_eigval"][3:] = -2.0
  noisy[1]["lap_eigvec"] = records[1]["lap_eigvec"] * np.arange(1, 7, dtype=np.float32)[:, None]  # row scales
  np.testing.assert_allclose(apply(encoder, pad_batch(noisy)), clean, rtol=1e-5, atol=1e-6)
  # The 3-node graph's LPE is the encoder run on its 3 existing tokens alone, without any mask: (u_j[i] with
  # unit rows, lambda_j) for j < 3.
  vec, val = records[0]["lap_eigvec"][:, :3], records[0]["lap_eigval"][:3]
  vec = vec / np.linalg.norm(vec, axis=1, keepdims=True)
  tokens = np.stack([vec, np.broadcast_to(val, vec.shape)], axis=-1)  # [3 nodes, 3 frequencies, 2]
  alone = nnx.jit(lambda e, *args: e.encode(*args))(encoder, jnp.asarray(tokens), jnp.ones((3, 3), bool))
  np.testing.assert_allclose(clean[0, :3], alone, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(clean[0, 3:], 0.0)


def test_lpe_reads_the_eigenpair_fields_it_is_told():
  # ZINC's records hold GraphGPS's combinatorial eigenpairs in lap_* and SAN's in lap_sym_*.
  records = _records(5, sizes=(3, 6))
  moved = [
    dict(
      r,
      lap_sym_eigvec=r["lap_eigvec"],
      lap_sym_eigval=r["lap_eigval"],
      lap_eigvec=np.full_like(r["lap_eigvec"], 3.0),
      lap_eigval=np.full_like(r["lap_eigval"], 5.0),
    )
    for r in records
  ]
  build = lambda **kw: LearnedLPE(
    M, 8, num_layers=1, num_heads=2, ffn_dim=16, dropout=0.0, normalize_rows=True, rngs=nnx.Rngs(0), **kw
  )
  apply = nnx.jit(lambda e, g: e(g))
  expected = apply(build(), pad_batch(records))
  np.testing.assert_array_equal(apply(build(eigenpairs="lap_sym"), pad_batch(moved)), expected)
  with pytest.raises(ValueError, match="graph.lap_sym_eigvec; the batch has None"):
    build(eigenpairs="lap_sym")(pad_batch(records))


def test_one_node_graph_gives_finite_gradients():
  # Train mode, full graph: the one-node graph has no pair at all, the empty graph no node.
  model = _model("graph_categorical")
  records = _records_for("graph_categorical", 8)
  batch = pad_batch([records[2], empty_graph(records[0])])  # SIZES[2] == 1
  grads = nnx.jit(nnx.grad(lambda m, b: jnp.sum(m(b) ** 2)))(model, batch)
  assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
  assert any(np.any(g != 0) for g in jax.tree.leaves(grads))


def test_sign_flips_are_live_in_training():
  model = _model("node_float", lpe_sign_flip=True)
  batch = pad_batch(_records(9))
  first, second = _apply(model, batch), _apply(model, batch)
  assert np.all(np.isfinite(first)) and not np.allclose(first, second)


def test_bad_configurations_and_batches_are_refused():
  with pytest.raises(ValueError, match="gamma=-1"):
    _model("node_float", gamma=-1.0)
  with pytest.raises(ValueError, match="lpe_dim=16 must lie in"):
    _model("node_float", lpe_dim=16)
  with pytest.raises(ValueError, match="lpe_dim=6 is not divisible by lpe_heads=4"):
    _model("node_float", lpe_dim=6, lpe_heads=4)
  with pytest.raises(ValueError, match="readout='cls'"):
    _model("node_float", readout="cls")
  with pytest.raises(ValueError, match="lpe_eigenpairs='eig' names no eigenpair fields"):
    _model("node_float", lpe_eigenpairs="eig")
  model = _model("node_float", lpe_frequencies=M + 1)
  with pytest.raises(ValueError, match=f"reads {M + 1} eigenpairs from graph.lap_eigvec"):
    model(pad_batch(_records(0)))
