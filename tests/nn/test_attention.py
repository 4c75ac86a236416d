"""Tests for the shared dense attention: masking, padding and bias."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from research.nn.attention import MultiHeadAttention, dot_product_attention

nnx.use_eager_sharding(False)  # partitioned params outside a mesh

B, N, H, D = 3, 6, 2, 4
LENGTHS = (6, 4, 0)  # the last element is fully padded


def _padded_inputs(seed: int = 0):
  """Random q, k, v, bias with large garbage on padded positions, and the key mask."""
  rng = np.random.default_rng(seed)
  q, k, v = (rng.normal(size=(B, N, H, D)).astype(np.float32) for _ in range(3))
  bias = rng.normal(size=(B, H, N, N)).astype(np.float32)
  mask = np.arange(N)[None, :] < np.array(LENGTHS)[:, None]
  for x in (q, k, v):
    x[~mask] = 1e4 * rng.normal(size=x[~mask].shape)
  bias[~(mask[:, None, :, None] & mask[:, None, None, :]).repeat(H, 1)] = 1e4
  return jnp.asarray(q), jnp.asarray(k), jnp.asarray(v), jnp.asarray(bias), jnp.asarray(mask)


def _reference(q, k, v, bias=None, clamp=None):
  """Unmasked attention of one unpadded graph: [T, H, D] -> [T, H, D]."""
  logits = jnp.einsum("thd,shd->hts", q, k) / np.sqrt(q.shape[-1])
  if bias is not None:
    logits = logits + bias
  if clamp is not None:
    logits = jnp.clip(logits, -clamp, clamp)
  return jnp.einsum("hts,shd->thd", jax.nn.softmax(logits, axis=-1), v)


@pytest.mark.parametrize("clamp", [None, 0.5])
@pytest.mark.parametrize("use_bias", [False, True])
def test_padding_never_leaks(clamp, use_bias):
  q, k, v, bias, mask = _padded_inputs()
  out = dot_product_attention(
    q, k, v, bias=bias if use_bias else None, query_mask=mask, key_mask=mask, logit_clamp=clamp
  )
  assert np.all(np.isfinite(out))
  for b, n in enumerate(LENGTHS):
    if n:
      ref = _reference(q[b, :n], k[b, :n], v[b, :n], bias[b, :, :n, :n] if use_bias else None, clamp)
      np.testing.assert_allclose(out[b, :n], ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out[b, n:], 0.0)


def test_fully_masked_rows_are_zero_with_finite_gradients():
  q, k, v, _, mask = _padded_inputs()
  pair = jnp.ones((B, N, N), bool).at[:, 0, :].set(False)  # query 0 sees no key

  def loss(q, k, v):
    out = dot_product_attention(q, k, v, query_mask=mask, key_mask=mask, pair_mask=pair)
    return jnp.sum(out**2), out

  grads, out = jax.grad(loss, argnums=(0, 1, 2), has_aux=True)(q, k, v)
  np.testing.assert_array_equal(out[:, 0], 0.0)
  np.testing.assert_array_equal(out[2], 0.0)  # fully padded element
  for g in grads:
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g[~np.asarray(mask)], 0.0)  # padding gets no gradient


def test_bias_is_added():
  q, k, v, bias, mask = _padded_inputs()
  with_bias = dot_product_attention(q, k, v, bias=bias, key_mask=mask, query_mask=mask)
  without = dot_product_attention(q, k, v, key_mask=mask, query_mask=mask)
  assert not np.allclose(with_bias[0], without[0])
  # A bias of -1e9 on all but one key makes each query copy that key's value.
  one_hot = jnp.where(jnp.arange(N) == 2, 0.0, -1e9)[None, None, None, :]
  out = dot_product_attention(q, k, v, bias=jnp.broadcast_to(one_hot, (B, H, N, N)), key_mask=mask, query_mask=mask)
  np.testing.assert_allclose(out[0], jnp.broadcast_to(v[0, 2], (N, H, D)), rtol=1e-6)


def test_module_shapes_and_padding_invariance():
  attn = MultiHeadAttention(H * D, num_heads=H, rngs=nnx.Rngs(0))
  x = jnp.asarray(np.random.default_rng(1).normal(size=(B, N, H * D)), jnp.float32)
  mask = jnp.asarray(np.arange(N)[None, :] < np.array(LENGTHS)[:, None])
  out = attn(x, mask=mask)
  assert out.shape == (B, N, H * D)
  x_garbage = jnp.where(mask[..., None], x, 100.0)
  np.testing.assert_allclose(attn(x_garbage, mask=mask), out, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(attn(x[1:2, :4])[0], out[1, :4], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_bias", [False, True])
def test_explicit_path_with_weight_dropout_matches_fused_path(use_bias):
  q, k, v, bias, mask = _padded_inputs(3)
  kwargs = dict(bias=bias if use_bias else None, query_mask=mask, key_mask=mask)
  fused = dot_product_attention(q, k, v, **kwargs)
  explicit = dot_product_attention(q, k, v, weights_dropout=lambda w: w, **kwargs)  # the explicit einsum path
  np.testing.assert_allclose(explicit, fused, rtol=1e-5, atol=1e-5)
  halved = dot_product_attention(q, k, v, weights_dropout=lambda w: 0.5 * w, **kwargs)
  np.testing.assert_allclose(halved, 0.5 * fused, rtol=1e-5, atol=1e-5)  # dropout acts on the weights


def test_attention_weight_dropout_is_live_in_training_only():
  attn = MultiHeadAttention(H * D, num_heads=H, weights_dropout=0.5, rngs=nnx.Rngs(params=0, dropout=1))
  x = jnp.asarray(np.random.default_rng(0).normal(size=(B, N, H * D)).astype(np.float32))
  mask = jnp.asarray(np.arange(N)[None, :] < np.array(LENGTHS)[:, None])
  first, second = attn(x, mask=mask), attn(x, mask=mask)
  assert not np.allclose(first, second)  # a fresh dropout mask per call
  assert np.all(np.asarray(first)[~np.asarray(mask)] == 0.0)
  attn.eval()
  no_dropout = MultiHeadAttention(H * D, num_heads=H, rngs=nnx.Rngs(params=0))
  np.testing.assert_allclose(attn(x, mask=mask), no_dropout(x, mask=mask), rtol=1e-6)
