"""Dense multi-head attention over padded sets, with additive bias and masks.

Masked logits get a large finite negative (not -inf), so rows without any
valid key stay finite; their outputs, and those of padded query rows, are set
to zero. Without a logit clamp or dropout on the attention weights the core is
`jax.nn.dot_product_attention` (which can use fused kernels); with either, an
explicit einsum path computes the weights.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from research.nn.dense import dense, xavier_uniform_of_fused

# Large finite negative for masked logits (-inf would make empty rows NaN).
MASK_VALUE = -1e9


def _combine_masks(
  query_mask: jax.Array | None, key_mask: jax.Array | None, pair_mask: jax.Array | None
) -> jax.Array | None:
  """[B, T], [B, S], [B, T, S] (each optional) -> [B, 1, T, S] bool or None."""
  mask = None
  if pair_mask is not None:
    mask = pair_mask.astype(bool)
  if query_mask is not None:
    q = query_mask.astype(bool)[:, :, None]
    mask = q if mask is None else mask & q
  if key_mask is not None:
    k = key_mask.astype(bool)[:, None, :]
    mask = k if mask is None else mask & k
  return None if mask is None else mask[:, None]


def _explicit_attention(
  q: jax.Array,
  k: jax.Array,
  v: jax.Array,
  bias: jax.Array | None,
  mask: jax.Array | None,
  clamp: float | None,
  weights_dropout: Callable[[jax.Array], jax.Array] | None,
) -> jax.Array:
  """dropout(softmax_j(clip(q_i . k_j / sqrt(d) + bias_ij, -clamp, clamp))) v_j."""
  logits = jnp.einsum("bthd,bshd->bhts", q, k) / jnp.sqrt(q.shape[-1]).astype(q.dtype)  # [B, H, T, S]
  if bias is not None:
    logits = logits + bias
  if clamp is not None:
    logits = jnp.clip(logits, -clamp, clamp)
  if mask is not None:
    logits = jnp.where(mask, logits, MASK_VALUE)
  weights = jax.nn.softmax(logits, axis=-1)
  if weights_dropout is not None:
    weights = weights_dropout(weights)
  return jnp.einsum("bhts,bshd->bthd", weights, v)  # [B, T, H, D]


def dot_product_attention(
  q: jax.Array,
  k: jax.Array,
  v: jax.Array,
  *,
  bias: jax.Array | None = None,
  query_mask: jax.Array | None = None,
  key_mask: jax.Array | None = None,
  pair_mask: jax.Array | None = None,
  logit_clamp: float | None = None,
  weights_dropout: Callable[[jax.Array], jax.Array] | None = None,
) -> jax.Array:
  """Masked scaled dot-product attention.

  Args:
    q: [B, T, H, D] queries.
    k: [B, S, H, D] keys.
    v: [B, S, H, D] values.
    bias: optional additive logit bias, broadcastable to [B, H, T, S].
    query_mask: optional [B, T] bool, False for padded queries (output zero).
    key_mask: optional [B, S] bool, False for padded keys (never attended).
    pair_mask: optional [B, T, S] bool, False where query t may not see key s.
    logit_clamp: if set, logits (after the bias) are clipped to
      [-logit_clamp, logit_clamp] before the softmax, as in Dwivedi & Bresson's
      Graph Transformer; this uses an explicit einsum path.
    weights_dropout: if set, applied to the attention weights [B, H, T, S]
      after the softmax (PyTorch's `MultiheadAttention(dropout=p)`); this uses
      the explicit einsum path.

  Returns:
    [B, T, H, D]; zero for query rows that are padded or see no valid key.
  """
  mask = _combine_masks(query_mask, key_mask, pair_mask)
  if logit_clamp is None and weights_dropout is None:
    out = jax.nn.dot_product_attention(q, k, v, bias=bias, mask=mask)
  else:
    out = _explicit_attention(q, k, v, bias, mask, logit_clamp, weights_dropout)
  if mask is not None:
    row_valid = jnp.any(mask[:, 0], axis=-1)  # [B, T]
    out = jnp.where(row_valid[:, :, None, None], out, 0.0)
  return out


class MultiHeadAttention(nnx.Module):
  """Self-attention with Q/K/V projections; heads are concatenated, no output projection.

  Callers apply their own output projection (and dropout before it, if any).
  `weights_dropout` > 0 drops attention weights in training (the "dropout"
  rng stream); in eval mode the fused path is used. Q/K/V start as
  torch.nn.Linear layers, or with `torch_mha_init` as the in-projection of
  torch.nn.MultiheadAttention (xavier-uniform over the fused [3 * width, in]
  matrix, zero biases).
  """

  def __init__(
    self,
    in_dim: int,
    num_heads: int,
    head_dim: int | None = None,
    *,
    use_bias: bool = True,
    logit_clamp: float | None = None,
    weights_dropout: float = 0.0,
    torch_mha_init: bool = False,
    rngs: nnx.Rngs,
  ):
    if head_dim is None:
      if in_dim % num_heads:
        raise ValueError(f"in_dim={in_dim} is not divisible by num_heads={num_heads}; pass head_dim.")
      head_dim = in_dim // num_heads
    self.num_heads = num_heads
    self.head_dim = head_dim
    self.logit_clamp = logit_clamp
    self.weights_dropout = nnx.Dropout(weights_dropout, rngs=rngs) if weights_dropout > 0 else None
    width = num_heads * head_dim
    init = dict(kernel_init=xavier_uniform_of_fused(in_dim, width, 3), zero_bias=True) if torch_mha_init else {}
    projection = lambda: dense(in_dim, width, axes=("embed", "heads"), use_bias=use_bias, rngs=rngs, **init)
    self.query, self.key, self.value = projection(), projection(), projection()

  def qkv(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """[B, N, in_dim] -> three [B, N, H, D] projections."""
    split = lambda y: y.reshape(y.shape[:-1] + (self.num_heads, self.head_dim))
    return split(self.query(x)), split(self.key(x)), split(self.value(x))

  def __call__(
    self,
    x: jax.Array,
    *,
    mask: jax.Array | None = None,
    bias: jax.Array | None = None,
    pair_mask: jax.Array | None = None,
  ) -> jax.Array:
    """x: [B, N, in_dim], mask: [B, N] (queries and keys), bias: [B, H, N, N] -> [B, N, H * D]."""
    q, k, v = self.qkv(x)
    dropout = self.weights_dropout
    if dropout is not None and dropout.deterministic:
      dropout = None  # eval mode: nothing to drop, so the fused path applies
    out = dot_product_attention(
      q,
      k,
      v,
      bias=bias,
      query_mask=mask,
      key_mask=mask,
      pair_mask=pair_mask,
      logit_clamp=self.logit_clamp,
      weights_dropout=dropout,
    )
    return out.reshape(out.shape[:2] + (self.num_heads * self.head_dim,))
