"""Tests for FAVOR+ Performer attention: the formula, softmax approximation, padding, symmetry, random features."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from research.nn.performer import (
  EPS,
  PerformerSelfAttention,
  RandomFeatures,
  favor_attention,
  gaussian_orthogonal_random_matrix,
)

nnx.use_eager_sharding(False)  # partitioned params outside a mesh

DIM, HEADS, HEAD_DIM = 8, 2, 4
LENGTHS = (6, 3, 0)  # the last element is fully padded


def _module(num_features=None, dim=DIM, head_dim=HEAD_DIM, seed=0):
  module = PerformerSelfAttention(dim, HEADS, head_dim=head_dim, num_features=num_features, rngs=nnx.Rngs(seed))
  module.eval()
  return module


@nnx.jit
def _apply(module, x, mask):
  return module(x, mask=mask)


def _qkv(module, x):
  """The module's own projections of x [N, dim] as float64 arrays [N, H, d]."""
  split = lambda layer: np.asarray(layer(jnp.asarray(x)), np.float64).reshape(len(x), HEADS, -1)
  return split(module.query), split(module.key), split(module.value)


def _favor_reference(module, x):
  """FAVOR+ of one unpadded graph x [n, dim], in float64, through the quadratic form A' = Q' K'^T."""
  q, k, v = _qkv(module, x)
  w = np.asarray(module.projection[...], np.float64)  # [m, d]
  m, d = w.shape
  out = np.zeros_like(v)
  for h in range(HEADS):
    xq, xk = q[:, h] / d**0.25, k[:, h] / d**0.25
    q_dash, k_dash = xq @ w.T, xk @ w.T  # [n, m]
    q_prime = (np.exp(q_dash - 0.5 * np.sum(xq**2, -1, keepdims=True) - q_dash.max(-1, keepdims=True)) + EPS) / m**0.5
    k_prime = (np.exp(k_dash - 0.5 * np.sum(xk**2, -1, keepdims=True) - k_dash.max()) + EPS) / m**0.5
    a = q_prime @ k_prime.T  # [n, n], estimates exp(q_i . k_j / sqrt(d)) up to a common factor per row
    out[:, h] = (a @ v[:, h]) / a.sum(-1, keepdims=True)
  return out.reshape(len(x), -1) @ np.asarray(module.out.kernel[...], np.float64) + np.asarray(module.out.bias[...])


def _padded(graphs_x, max_nodes, rng):
  """Stacks [n_b, dim] graphs into [B, max_nodes, dim] with large garbage on the padding, and the mask."""
  x = 1e3 * rng.normal(size=(len(graphs_x), max_nodes, DIM)).astype(np.float32)
  mask = np.zeros((len(graphs_x), max_nodes), bool)
  for b, g in enumerate(graphs_x):
    x[b, : len(g)], mask[b, : len(g)] = g, True
  return jnp.asarray(x), jnp.asarray(mask)


def test_defaults_follow_performer_pytorch():
  # SelfAttention(dim=64, heads=4): 64-dim heads, int(64 ln 64) = 266 features, no q/k/v bias,
  # output projection with bias; 65,600 parameters as counted on performer-pytorch 1.1.4.
  module = nnx.eval_shape(lambda: PerformerSelfAttention(64, 4, rngs=nnx.Rngs(0)))
  assert module.projection.get_value().shape == (int(64 * math.log(64)), 64) == (266, 64)
  assert module.query.bias is None and module.key.bias is None and module.value.bias is None
  assert module.out.bias is not None
  assert sum(x.size for x in jax.tree.leaves(nnx.state(module, nnx.Param))) == 3 * 64 * 256 + 256 * 64 + 64 == 65_600


def test_matches_the_favor_plus_formula_on_padded_batches():
  module = _module(num_features=10)  # 10 = two full 4-row orthogonal blocks and a partial one
  rng = np.random.default_rng(0)
  graphs_x = [rng.normal(size=(n, DIM)).astype(np.float32) for n in LENGTHS]
  x, mask = _padded(graphs_x, 8, rng)
  out = _apply(module, x, mask)
  for b, g in enumerate(graphs_x):
    if len(g):
      np.testing.assert_allclose(out[b, : len(g)], _favor_reference(module, g), rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(out)[~np.asarray(mask)], 0.0)


def test_approximates_softmax_attention_with_many_features():
  # Lemma 2 of the paper: m positive random features estimate one kernel entry exp(x.y) with relative
  # standard deviation r = sqrt((exp|x + y|^2 - 1) / m). The output is a weighted average of values whose
  # weights carry that relative error, so it is off by about r * rms(v); measured: 0.9-1.3 x that over
  # three seeds (performer-pytorch's orthogonal blocks add a small bias, see research/nn/performer.py).
  # Tolerance 2 r rms(v); averaging the values uniformly (ignoring the keys) is off by 4 r rms(v).
  # q, k, v: the module's projections (torch init, unit inputs: ~N(0, 1/3)), head_dim 8, m = 8192.
  module = _module(num_features=8192, dim=16, head_dim=8)
  x = np.random.default_rng(0).normal(size=(2, 16, 16)).astype(np.float32)
  split = lambda y: y.reshape(y.shape[:-1] + (HEADS, 8))
  q, k, v = split(module.query(x)), split(module.key(x)), split(module.value(x))  # [B, N, H, d]
  exact = jax.nn.dot_product_attention(q, k, v)
  uniform = jnp.broadcast_to(v.mean(1, keepdims=True), v.shape)
  mean_s = float(jnp.mean(jnp.sum((q[:, :, None] + k[:, None]) ** 2, -1))) / 8**0.5  # mean |x + y|^2
  rms = lambda a: float(jnp.sqrt(jnp.mean(a**2)))
  tolerance = 2 * math.sqrt((math.exp(mean_s) - 1) / 8192) * rms(v)
  assert rms(favor_attention(q, k, v, module.projection[...]) - exact) < tolerance
  assert rms(uniform - exact) > 1.5 * tolerance  # the tolerance does tell attention from plain averaging


@pytest.mark.parametrize("train", [False, True])
def test_padding_changes_nothing_and_gets_no_gradient(train):
  module = _module()
  if train:
    module.train()  # dropout 0: train mode must not change the masking
  rng = np.random.default_rng(1)
  graphs_x = [rng.normal(size=(n, DIM)).astype(np.float32) for n in LENGTHS]
  x, mask = _padded(graphs_x, 6, rng)
  x_more, mask_more = _padded(graphs_x, 6 + 7, rng)
  out, out_more = _apply(module, x, mask), _apply(module, x_more, mask_more)
  assert np.all(np.isfinite(out_more))
  for b, n in enumerate(LENGTHS):
    np.testing.assert_allclose(out_more[b, :n], out[b, :n], rtol=1e-5, atol=1e-6)
  alone = _apply(module, x[:1, : LENGTHS[0]], None)  # no mask, no padding, no other graphs
  np.testing.assert_allclose(out[0, : LENGTHS[0]], alone[0], rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(out_more)[~np.asarray(mask_more)], 0.0)

  grad = jax.jit(jax.grad(lambda x: jnp.sum(module(x, mask=mask_more) ** 2)))(x_more)
  assert np.all(np.isfinite(grad))
  np.testing.assert_array_equal(np.asarray(grad)[~np.asarray(mask_more)], 0.0)


def test_permutation_equivariance():
  module = _module()
  rng = np.random.default_rng(2)
  x, mask = _padded([rng.normal(size=(n, DIM)).astype(np.float32) for n in (7, 4)], 7, rng)
  perm = rng.permutation(7)  # over all slots, padding included
  out, out_perm = _apply(module, x, mask), _apply(module, x[:, perm], mask[:, perm])
  np.testing.assert_allclose(out_perm, out[:, perm], rtol=1e-5, atol=1e-6)


def test_random_features_are_orthogonal_blocks_with_gaussian_norms():
  w = np.asarray(gaussian_orthogonal_random_matrix(jax.random.key(0), 4000 * 4 + 3, 4))
  assert w.shape == (16003, 4)
  units = w / np.linalg.norm(w, axis=1, keepdims=True)
  blocks = units[:16000].reshape(4000, 4, 4)
  np.testing.assert_allclose(blocks @ blocks.transpose(0, 2, 1), np.broadcast_to(np.eye(4), (4000, 4, 4)), atol=1e-5)
  np.testing.assert_allclose(np.mean(np.sum(w**2, axis=1)), 4.0, rtol=0.03)  # norms^2 ~ chi-squared(4)
  np.testing.assert_array_equal(w, gaussian_orthogonal_random_matrix(jax.random.key(0), 16003, 4))


def test_random_features_are_a_fixed_buffer_not_a_parameter():
  module = _module(seed=3)
  assert isinstance(module.projection, RandomFeatures)
  assert "projection" not in nnx.state(module, nnx.Param)
  before = np.asarray(module.projection[...])
  x = jnp.asarray(np.random.default_rng(3).normal(size=(1, 5, DIM)).astype(np.float32))
  grads = nnx.jit(nnx.grad(lambda m: jnp.sum(m(x) ** 2)))(module)
  assert "projection" not in grads
  _apply(module, x, None)
  np.testing.assert_array_equal(module.projection[...], before)  # calls never redraw it
  np.testing.assert_array_equal(_module(seed=3).projection[...], before)  # drawn from the params seed


def test_bad_head_sizes_are_refused():
  with pytest.raises(ValueError, match="num_features=0 .head_dim=1."):
    PerformerSelfAttention(DIM, HEADS, head_dim=1, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="head_dim=0"):
    PerformerSelfAttention(DIM, HEADS, head_dim=0, rngs=nnx.Rngs(0))
