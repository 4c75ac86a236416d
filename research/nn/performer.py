"""Performer self-attention: softmax attention estimated with FAVOR+ in linear time.

Choromanski et al., "Rethinking Attention with Performers" (ICLR 2021), Sec. 2,
computed as performer-pytorch 1.1.4's `SelfAttention` does by default (the
version GraphGPS installs for its "Performer" global attention).

Exact attention of one head over L tokens (Eq. 1):
  Att(Q, K, V) = D^-1 A V,   A = exp(Q K^T / sqrt(d)),   D = diag(A 1_L).
Positive random features (Lemma 1, Sec. 2.3): with w ~ N(0, I_d),
  exp(x^T y) = E_w[exp(w^T x - |x|^2/2) exp(w^T y - |y|^2/2)],
so phi(x) = exp(-|x|^2/2) / sqrt(m) [exp(w_1^T x), ..., exp(w_m^T x)] gives
exp(x^T y) ~= phi(x)^T phi(y). Queries and keys enter as x = q d^-1/4 and
y = k d^-1/4 (so x^T y = q^T k / sqrt(d)); in code, per head:
  x_dash = x W^T                                  [L, m]  (`_random_features`)
  phi(x) = m^-1/2 (exp(x_dash - |x|^2/2 - c) + eps)
with eps = 1e-4 and a stop-gradient stabiliser c that cancels between the
numerator and D up to eps: for a query its largest x_dash entry, for keys the
largest entry over all keys of the graph and all features (performer-pytorch's
asymmetry). Linear attention (Sec. 2.2, bidirectional case), never forming A:
  out = D'^-1 (Q' (K'^T V)),   D' = diag(Q' (K'^T 1_L)),   Q' = phi(Q), K' = phi(K).
Orthogonal random features (Sec. 2.4): W stacks ceil(m / d) independent d x d
orthogonal blocks (QR of a Gaussian matrix), cut to m rows, each row rescaled
to the norm of an independent N(0, I_d) draw, so that rows within a block
are exactly orthogonal. Like performer-pytorch (and the paper's own JAX code),
the QR factor is not sign-corrected, so the blocks are not exactly Haar: the
i-th row of a block leans towards -e_i (the last towards +e_d), an estimator
bias of order 1/d that more features do not remove (head_dim 8, q, k ~ N(0,
1/4): max error against exact attention 0.048 with 16k features and 0.046
with 65k; 0.020 with 16k sign-corrected ones). It is kept for fidelity; at
GraphGPS's head_dim of 64 it is small.

W is drawn once at construction from the "params" rng stream and kept as a
non-trainable `RandomFeatures` variable (checkpointed with the model).
performer-pytorch redraws it only through its `ProjectionUpdater`, which
GraphGPS's GPS layer never calls, so W is fixed for the whole run there too.

Padding: performer-pytorch zeroes the values of padded keys only, so padded
keys still add to D (and to the key stabiliser): its outputs depend on how far
a graph is padded (GraphGPS pads each batch to its largest graph; a 12-node
graph padded to 20-64 slots moved outputs of size 0.35 by 0.11-0.23). Here padded keys are dropped from K'
(numerator and D) and from the stabiliser, so a graph's outputs do not depend on its padding or on
the other graphs of the batch; padded query rows are zero.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from research.nn.dense import dense

EPS = 1e-4  # performer-pytorch's softmax_kernel eps, added after the exp


class RandomFeatures(nnx.Variable):
  """A fixed random projection: saved with the model, never trained."""


def gaussian_orthogonal_random_matrix(key: jax.Array, num_rows: int, num_cols: int) -> jax.Array:
  """[num_rows, num_cols]: stacked orthogonal blocks, rows rescaled to Gaussian norms (Sec. 2.4)."""
  block_key, norm_key = jax.random.split(key)
  num_blocks = -(-num_rows // num_cols)
  gaussian = jax.random.normal(block_key, (num_blocks, num_cols, num_cols))
  q, _ = jnp.linalg.qr(gaussian)  # [blocks, d, d], orthonormal columns
  rows = jnp.swapaxes(q, -1, -2).reshape(num_blocks * num_cols, num_cols)[:num_rows]
  norms = jnp.linalg.norm(jax.random.normal(norm_key, (num_rows, num_cols)), axis=-1)  # chi(d)
  return norms[:, None] * rows


def _random_features(x: jax.Array, projection: jax.Array) -> tuple[jax.Array, jax.Array]:
  """x: [B, N, H, d], projection W: [m, d] -> (x_dash [B, N, H, m], |x|^2/2 [B, N, H, 1]) of x d^-1/4."""
  x = x * x.shape[-1] ** -0.25
  return jnp.einsum("bnhd,md->bnhm", x, projection), 0.5 * jnp.sum(x * x, axis=-1, keepdims=True)


def _positive_features(x_dash: jax.Array, half_sq_norm: jax.Array, stabiliser: jax.Array) -> jax.Array:
  """phi = m^-1/2 (exp(x_dash - |x|^2/2 - c) + eps), with c held out of the gradient."""
  exponent = x_dash - half_sq_norm - jax.lax.stop_gradient(stabiliser)
  return x_dash.shape[-1] ** -0.5 * (jnp.exp(exponent) + EPS)


def favor_attention(
  q: jax.Array, k: jax.Array, v: jax.Array, projection: jax.Array, *, mask: jax.Array | None = None
) -> jax.Array:
  """Non-causal FAVOR+ attention.

  Args:
    q: [B, N, H, d] queries.
    k: [B, N, H, d] keys.
    v: [B, N, H, e] values.
    projection: [m, d] random features W.
    mask: optional [B, N] bool, False for padded nodes (they are neither keys
      nor normaliser terms, and their output rows are zero).

  Returns:
    [B, N, H, e].
  """
  q_dash, q_sq = _random_features(q, projection)  # [B, N, H, m], [B, N, H, 1]
  k_dash, k_sq = _random_features(k, projection)
  q_prime = _positive_features(q_dash, q_sq, jnp.max(q_dash, axis=-1, keepdims=True))  # c per query
  if mask is None:
    k_prime = _positive_features(k_dash, k_sq, jnp.max(k_dash, axis=(1, 3), keepdims=True))  # c per graph, head
  else:
    real = mask.astype(bool)[:, :, None, None]  # [B, N, 1, 1]
    k_max = jnp.max(jnp.where(real, k_dash, -jnp.inf), axis=(1, 3), keepdims=True)  # [B, 1, H, 1]
    k_max = jnp.where(jnp.isfinite(k_max), k_max, 0.0)  # a graph without nodes
    # Padded keys: whatever their inputs, a zero exponent keeps value and gradient finite; then no features.
    k_dash, k_sq = jnp.where(real, k_dash, 0.0), jnp.where(real, k_sq, 0.0)
    k_prime = jnp.where(real, _positive_features(k_dash, k_sq, k_max), 0.0)
    v = jnp.where(real, v, 0.0)
  context = jnp.einsum("bnhm,bnhe->bhme", k_prime, v)  # K'^T V
  normaliser = jnp.einsum("bnhm,bhm->bnh", q_prime, jnp.sum(k_prime, axis=1))  # Q' (K'^T 1)
  if mask is None:
    return jnp.einsum("bnhm,bhme->bnhe", q_prime, context) / normaliser[..., None]
  normaliser = jnp.where(real[..., 0], normaliser, 1.0)  # padded rows (of an empty graph: 0) never divide
  out = jnp.einsum("bnhm,bhme->bnhe", q_prime, context) / normaliser[..., None]
  return jnp.where(real, out, 0.0)


class PerformerSelfAttention(nnx.Module):
  """performer-pytorch's `SelfAttention(dim, heads, dropout)` with its defaults, non-causal.

  Q, K, V: Linear(dim -> heads * head_dim) without bias; output Linear(heads *
  head_dim -> dim) with bias; dropout on the output. Defaults as in
  performer-pytorch: head_dim 64 whatever dim / heads is, and
  num_features = int(head_dim ln head_dim) (266 for 64). Linear layers start
  as torch.nn.Linear.
  """

  def __init__(
    self,
    dim: int,
    num_heads: int,
    *,
    head_dim: int = 64,
    num_features: int | None = None,
    dropout: float = 0.0,
    rngs: nnx.Rngs,
  ):
    if head_dim < 1:
      raise ValueError(f"head_dim={head_dim}: a head needs at least one dimension.")
    if num_features is None:
      num_features = int(head_dim * math.log(head_dim))
    if num_features < 1:
      raise ValueError(
        f"num_features={num_features} (head_dim={head_dim}): FAVOR+ needs at least one random feature; "
        "pass num_features >= 1 (int(head_dim ln head_dim) is 0 for head_dim=1)."
      )
    self.num_heads = num_heads
    self.head_dim = head_dim
    width = num_heads * head_dim
    linear = lambda: dense(dim, width, axes=("embed", "heads"), use_bias=False, rngs=rngs)
    self.query, self.key, self.value = linear(), linear(), linear()
    self.out = dense(width, dim, axes=("heads", "embed"), rngs=rngs)
    self.projection = RandomFeatures(gaussian_orthogonal_random_matrix(rngs.params(), num_features, head_dim))
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x: jax.Array, *, mask: jax.Array | None = None) -> jax.Array:
    """x: [B, N, dim], mask: [B, N] (False = padding) -> [B, N, dim], zero on padded rows."""
    split = lambda y: y.reshape(y.shape[:-1] + (self.num_heads, self.head_dim))
    q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))  # [B, N, H, d]
    out = favor_attention(q, k, v, self.projection[...], mask=mask)
    out = self.dropout(self.out(out.reshape(out.shape[:2] + (-1,))))  # [B, N, dim]
    return out if mask is None else jnp.where(mask[..., None], out, 0.0)
