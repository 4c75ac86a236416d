"""GRIT: the Graph Inductive bias Transformer.

Ma, Lin, Lim, Romero-Soriano, Dokania, Coates, Torr & Lim, "Graph Inductive
Biases in Transformers without Message Passing" (ICML 2023), following the
official `grit/layer/grit_layer.py` (MultiHeadAttentionLayerGritSparse,
GritTransformerLayer), `grit/encoder/rrwp_encoder.py` and
`grit/network/grit_model.py` (LiamMa/GRIT).

Inputs. RRWP P_ij = [I, M, ..., M^(K-1)]_ij with M = D^-1 A (research/graph/rrwp.py,
computed here on device from the batch's edges), for every ordered pair of real
nodes (query i, key j):
  x_i^0  = embed(x_i) + W_node P_ii                    (RRWPLinearNodeEncoder, no bias)
  e_ij^0 = W_pair P_ij + sum_{edges j -> i} embed(e_ji)  (RRWPLinearEdgeEncoder, no bias:
           edge attributes summed onto their (receiver, sender) pair, every other
           pair of the graph's n x n set zero-padded)
embed() is a Linear map of float features or a table of category ids; graphs
without edge features embed one learned vector per edge (GraphGPS's DummyEdge).

One GRIT layer on node states X [B, N, D] and pair states E [B, N, N, D], H
heads of width d = D / H (Eq. 2 of the paper, in the form of the official code):
  s_ij   = (W_Q x_i + W_K x_j) * W_Ew e_ij           (W_Q with bias; W_K, W_V without)
  ê_ij   = ReLU(rho(s_ij) + W_Eb e_ij)               rho(s) = sign(s) sqrt(|s|) (signed sqrt)
  a_ij   = softmax_j(clip(W_A ê_ij, -5, 5))          over the real keys j of i's graph
  x̂_i   = sum_j a_ij W_V x_j + W_Ev (sum_j a_ij ê_ij)   (W_Ev: one d x d map per head)
Degree scaler, with d_i the out-degree of i in the input graph:
  x̂_i  <- x̂_i * theta_1 + log(1 + d_i) x̂_i * theta_2
Residuals, BatchNorm and FFN:
  X = BN(X + O_h(dropout(x̂)))          E = BN(E + O_e(dropout(ê)))
  X = BN(X + W_2 dropout(ReLU(W_1 X)))  (FFN width 2D)
Attention weights are dropped with attn_dropout. Every pair of real nodes of a
graph takes part (GRIT's "full" attention); here the pairs are held dense, so
padded pairs are masked in the softmax and in the pair BatchNorm.
In code: W_Q, W_K, W_V = attention.query/key/value, [W_Ew || W_Eb] per head =
attention.pair, W_A = attention.score [d, H], W_Ev = attention.pair_value
[d, H, d], theta = deg_coef [D, 2], O_h/O_e = out_h/out_e, the clip bound =
attn_clamp.

Network: the encoders above, L GRIT layers, then a node head (GraphGym MLP,
"inductive_node") or a graph head (pooling and a halving MLP, "san_graph").
Initialisation as the official code: xavier-normal for W_Q, W_K, W_V, the
pair projection, W_A, W_Ev and theta (torch's fans for the 3-D tensors),
xavier-uniform for the RRWP maps, torch.nn.Linear's default for every other
Linear and for all biases, N(0, 1) for embedding tables.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.graph.rrwp import rrwp_dense
from research.models.graph.gps_encoders import FeatureEmbedding, GPSEdgeEncoder
from research.models.graph.heads import GraphGPSHead
from research.nn.attention import MASK_VALUE
from research.nn.dense import AxisNames, dense
from research.nn.mlp import MLP
from research.nn.norm import Norm

_rrwp_dense = jax.jit(rrwp_dense, static_argnums=4)  # one compiled computation, also when run eagerly

_xavier_normal = nnx.initializers.variance_scaling(1.0, "fan_avg", "normal")  # torch xavier_normal_
_xavier_uniform = nnx.initializers.variance_scaling(1.0, "fan_avg", "uniform")  # torch xavier_uniform_


def _normal_param(rngs: nnx.Rngs, shape: tuple[int, ...], std: float, axes: AxisNames) -> nnx.Param:
  """A parameter drawn from N(0, std^2), on logical `axes`."""
  init = nnx.with_partitioning(lambda key, s, dtype=jnp.float32: std * jax.random.normal(key, s, dtype), tuple(axes))
  return nnx.Param(init(rngs.params(), shape))


def signed_sqrt(x: jax.Array) -> jax.Array:
  """sign(x) sqrt(|x|) = sqrt(relu(x)) - sqrt(relu(-x)), with gradient 0 at x = 0 (as torch's relu gives)."""
  mag = jnp.abs(x)
  nonzero = mag > 0
  return jnp.where(nonzero, jnp.sign(x) * jnp.sqrt(jnp.where(nonzero, mag, 1.0)), 0.0)


class RRWPEncoder(nnx.Module):
  """GRIT's RRWP linear encoders: node PE W_node P_ii [B, N, D] and pair PE W_pair P_ij [B, N, N, D], no biases."""

  def __init__(self, num_steps: int, dim: int, *, rngs: nnx.Rngs):
    linear = lambda: dense(num_steps, dim, axes=(None, "embed"), use_bias=False, kernel_init=_xavier_uniform, rngs=rngs)
    self.node, self.pair = linear(), linear()

  def __call__(self, rrwp: jax.Array) -> tuple[jax.Array, jax.Array]:
    """rrwp [B, N, N, K] -> (node PE [B, N, D], pair PE [B, N, N, D])."""
    diagonal = jnp.einsum("biik->bik", rrwp)  # [B, N, K]
    return self.node(diagonal), self.pair(rrwp)


class GritAttention(nnx.Module):
  """GRIT's attention (MultiHeadAttentionLayerGritSparse) over all pairs, dense.

  Returns the aggregated node values x̂ [B, N, H * d] and the new pair
  features ê [B, N, N, H * d], both before the output projections.
  """

  def __init__(self, dim: int, num_heads: int, *, attn_dropout: float, clamp: float | None, rngs: nnx.Rngs):
    if dim % num_heads:
      raise ConfigError(f"hidden_dim={dim} is not divisible by num_heads={num_heads}.")
    d = dim // num_heads
    self.num_heads, self.head_dim = num_heads, d
    self.clamp = None if clamp is None else abs(clamp)

    def linear(out: int, bias: bool) -> nnx.Linear:
      return dense(dim, out, axes=("embed", "heads"), use_bias=bias, kernel_init=_xavier_normal, rngs=rngs)

    self.query = linear(dim, True)
    self.key = linear(dim, False)
    self.value = linear(dim, False)
    self.pair = linear(2 * dim, True)  # per head: [W_Ew e (d) || W_Eb e (d)]
    # torch xavier_normal_ of Aw [d, H, 1] and VeRow [d, H, d] (fans: dim 1 x rest, dim 0 x rest).
    self.score = _normal_param(rngs, (d, num_heads), math.sqrt(2.0 / (num_heads + d)), (None, "heads"))  # W_A
    self.pair_value = _normal_param(
      rngs, (d, num_heads, d), math.sqrt(2.0 / (num_heads * d + d * d)), (None, "heads", None)
    )  # W_Ev
    self.dropout = nnx.Dropout(attn_dropout, rngs=rngs)

  def __call__(self, h: jax.Array, e: jax.Array, pair_mask: jax.Array) -> tuple[jax.Array, jax.Array]:
    """h [B, N, D], e [B, N, N, D], pair_mask [B, N, N] -> (x̂ [B, N, H d], ê [B, N, N, H d])."""
    heads = lambda x: x.reshape(x.shape[:-1] + (self.num_heads, -1))
    q, k, v = heads(self.query(h)), heads(self.key(h)), heads(self.value(h))  # [B, N, H, d]
    e_proj = heads(self.pair(e))  # [B, N, N, H, 2d]
    e_w, e_b = e_proj[..., : self.head_dim], e_proj[..., self.head_dim :]
    s = (q[:, :, None] + k[:, None, :]) * e_w  # [B, i, j, H, d]
    e_hat = jax.nn.relu(signed_sqrt(s) + e_b)  # [B, i, j, H, d]
    logits = jnp.einsum("bijhd,dh->bijh", e_hat, self.score[...])
    if self.clamp is not None:
      logits = jnp.clip(logits, -self.clamp, self.clamp)
    mask = pair_mask[..., None]  # [B, i, j, 1]
    attn = jax.nn.softmax(jnp.where(mask, logits, MASK_VALUE), axis=2)
    attn = self.dropout(jnp.where(mask, attn, 0.0))  # [B, i, j, H]; padded rows all zero
    out = jnp.einsum("bijh,bjhd->bihd", attn, v)
    out = out + jnp.einsum("bihd,dhc->bihc", jnp.einsum("bijh,bijhd->bihd", attn, e_hat), self.pair_value[...])
    return out.reshape(out.shape[:2] + (-1,)), e_hat.reshape(e_hat.shape[:3] + (-1,))


class GritLayer(nnx.Module):
  """One GRIT Transformer layer (GritTransformerLayer): attention, degree scaler, residuals, norms, FFN."""

  def __init__(
    self,
    dim: int,
    num_heads: int,
    *,
    dropout: float,
    attn_dropout: float,
    clamp: float | None = 5.0,
    batch_norm: bool = True,
    layer_norm: bool = False,
    rngs: nnx.Rngs,
  ):
    self.attention = GritAttention(dim, num_heads, attn_dropout=attn_dropout, clamp=clamp, rngs=rngs)
    self.deg_coef = _normal_param(rngs, (dim, 2), math.sqrt(2.0 / (2 * dim + 2)), ("heads", None))  # theta_1, theta_2
    self.out_h = dense(dim, dim, axes=("heads", "embed"), rngs=rngs)  # O_h
    self.out_e = dense(dim, dim, axes=("heads", "embed"), rngs=rngs)  # O_e
    norm = lambda: Norm(dim, batch_norm=batch_norm, layer_norm=layer_norm, rngs=rngs)
    self.norm_h, self.norm_e, self.norm_ffn = norm(), norm(), norm()
    self.ffn = MLP(dim, [2 * dim], dim, dropout=dropout, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(
    self, h: jax.Array, e: jax.Array, log_deg: jax.Array, node_mask: jax.Array, pair_mask: jax.Array
  ) -> tuple[jax.Array, jax.Array]:
    """h [B, N, D], e [B, N, N, D], log_deg [B, N, 1] -> (h, e), zero on padding."""
    h_attn, e_attn = self.attention(h, e, pair_mask)
    h_attn = self.dropout(h_attn)
    coef = self.deg_coef[...]
    h_attn = h_attn * coef[:, 0] + h_attn * log_deg * coef[:, 1]  # degree scaler
    h = self.norm_h(h + self.out_h(h_attn), node_mask)
    e = self.norm_e(e + self.out_e(self.dropout(e_attn)), pair_mask)
    h = self.norm_ffn(h + self.ffn(h), node_mask)
    return jnp.where(node_mask[..., None], h, 0.0), jnp.where(pair_mask[..., None], e, 0.0)


class GRIT(nnx.Module):
  """GRIT network: RRWP and feature encoders, `num_layers` GRIT layers, node or graph head.

  Node heads return [B, N, out_dim] (zero on padded nodes), graph heads [B, out_dim].
  For binary node classification GraphGym uses out_dim = 1 (one logit).
  Pair states are dense, [B, N, N, hidden_dim] per layer: memory grows as N^2.
  """

  def __init__(
    self,
    *,
    hidden_dim: int,
    num_layers: int,
    num_heads: int,
    out_dim: int,
    node_in_dim: int = 0,
    node_vocab: int = 0,
    edge_in_dim: int = 0,
    edge_vocab: int = 0,
    rrwp_steps: int = 21,
    dropout: float = 0.0,
    attn_dropout: float = 0.0,
    attn_clamp: float | None = 5.0,
    batch_norm: bool = True,
    layer_norm: bool = False,
    head: str = "node",
    head_layers: int = 3,
    graph_pooling: str = "mean",
    rngs: nnx.Rngs,
  ):
    if rrwp_steps < 1:
      raise ConfigError(f"rrwp_steps={rrwp_steps} must be >= 1 (RRWP channels, the identity included).")
    if head_layers < 1:
      raise ConfigError(f"head_layers={head_layers} must be >= 1.")
    self.rrwp_steps = rrwp_steps
    self.node_features = FeatureEmbedding(node_in_dim, hidden_dim, vocab_size=node_vocab, rngs=rngs)
    self.edge_encoder = GPSEdgeEncoder(hidden_dim, edge_in_dim=edge_in_dim, edge_vocab=edge_vocab, rngs=rngs)
    self.rrwp_encoder = RRWPEncoder(rrwp_steps, hidden_dim, rngs=rngs)
    self.layers = nnx.List(
      GritLayer(
        hidden_dim,
        num_heads,
        dropout=dropout,
        attn_dropout=attn_dropout,
        clamp=attn_clamp,
        batch_norm=batch_norm,
        layer_norm=layer_norm,
        rngs=rngs,
      )
      for _ in range(num_layers)
    )
    self.head = GraphGPSHead(hidden_dim, out_dim, kind=head, num_layers=head_layers, pooling=graph_pooling, rngs=rngs)

  def encode(self, graph: GraphBatch) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Initial node states [B, N, D], pair states [B, N, N, D] and log(1 + out-degree) [B, N, 1]."""
    node_mask = graph.node_mask
    pair_mask = graph.pair_mask
    senders, receivers, edge_mask = graph.per_graph_edges()
    rrwp = _rrwp_dense(senders, receivers, edge_mask, node_mask, self.rrwp_steps)  # [B, N, N, K]
    node_pe, pair_pe = self.rrwp_encoder(rrwp)
    h = self.node_features(graph.node_features) + node_pe
    e = pair_pe + graph.to_pairs(self.edge_encoder(graph))
    # Out-degree counting every copy of an edge, as the official `add_full_rrwp` does.
    deg = graph.aggregate(jnp.ones(graph.edge_mask.shape, jnp.float32), graph.senders)  # [B, N]
    h = jnp.where(node_mask[..., None], h, 0.0)
    e = jnp.where(pair_mask[..., None], e, 0.0)
    return h, e, jnp.log1p(deg)[..., None]

  def __call__(self, graph: GraphBatch) -> jax.Array:
    node_mask = graph.node_mask
    pair_mask = graph.pair_mask
    h, e, log_deg = self.encode(graph)
    for layer in self.layers:
      h, e = layer(h, e, log_deg, node_mask, pair_mask)
    return self.head(h, node_mask)  # [B, N, out] or [B, out]
