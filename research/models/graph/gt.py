"""Graph Transformer (GT).

Dwivedi & Bresson, "A Generalization of Transformer Networks to Graphs"
(AAAI-21 DLG workshop), Sec. 3, following the reference
`layers/graph_transformer_layer.py` (the layer without edge features).

Input (Sec. 3, input and PE):  h_i^0 = A^0 x_i + a^0 + C^0 lambda_i + c^0
Layer l, head k, neighbours N(i) (sparse) or all other real nodes (full):
  s_ij^k   = clip(Q^k h_i . K^k h_j / sqrt(d_k), -5, 5)
  w_ij^k   = exp(s_ij^k) / sum_{j' in N(i)} exp(s_ij'^k)      (softmax_j)
  h_hat_i  = O concat_k(sum_j w_ij^k V^k h_j)                 (dropout before O)
  h_hat_i  = Norm(h_i + h_hat_i)                              (residual, BN and/or LN)
  h_i'     = Norm(h_hat_i + W_2 dropout(ReLU(W_1 h_hat_i)))   (FFN, 2x width)
The clip to [-5, 5] is the reference code's "clamp for softmax numerical
stability"; Q, K, V have no bias, as in the reference layer.

Full attention follows the reference full-graph variant, which attends over
`nx.complete_graph(n)`: every other real node of the graph, without self-loops.
A node with no neighbour (isolated, or a one-node graph in full mode) gets a
zero attention output (the reference would divide 0 by 0).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.models.graph.encoders import READOUTS, BenchmarkingNodeEncoder, pool_nodes
from research.nn.attention import MultiHeadAttention
from research.nn.dense import dense
from research.nn.mlp import MLP, MLPReadout
from research.nn.norm import Norm

LOGIT_CLAMP = 5.0
ATTENTION_KINDS = ("sparse", "full")


def sparse_attention(q: jax.Array, k: jax.Array, v: jax.Array, graph: GraphBatch, clamp: float) -> jax.Array:
  """Attention of each receiver over its senders: q, k, v [B, N, H, D] -> [B, N, H, D]."""
  d = q.shape[-1]
  q_i = graph.gather(q, graph.receivers)  # [S, E, H, D]
  k_j, v_j = graph.gather(k, graph.senders), graph.gather(v, graph.senders)  # [S, E, H, D]
  scores = jnp.clip(jnp.sum(q_i * k_j, axis=-1) / jnp.sqrt(d).astype(q.dtype), -clamp, clamp)  # [S, E, H]
  weights = graph.edge_softmax(scores, graph.receivers)  # [S, E, H]
  return graph.aggregate(weights[..., None] * v_j, graph.receivers)  # [B, N, H, D]


def full_pair_mask(node_mask: jax.Array) -> jax.Array:
  """Complete graph on real nodes without self-loops: [B, N] -> [B, N, N] bool."""
  n = node_mask.shape[1]
  return node_mask[:, :, None] & node_mask[:, None, :] & ~jnp.eye(n, dtype=bool)


class GTOutput(nnx.Module):
  """What a GT layer does after attention (shared with SAN, which extends GT).

  h_hat = Norm(h + O dropout(attn)); h' = Norm(h_hat + FFN(h_hat)) (FFN width 2D;
  without `residual` the sums drop h and h_hat). Zero on padded nodes.
  """

  def __init__(self, dim: int, *, dropout: float, batch_norm: bool, layer_norm: bool, residual: bool, rngs: nnx.Rngs):
    self.O = dense(dim, dim, axes=("heads", "embed"), rngs=rngs)
    self.norm1 = Norm(dim, batch_norm=batch_norm, layer_norm=layer_norm, rngs=rngs)
    self.ffn = MLP(dim, [2 * dim], dim, dropout=dropout, rngs=rngs)
    self.norm2 = Norm(dim, batch_norm=batch_norm, layer_norm=layer_norm, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.residual = residual

  def __call__(self, h: jax.Array, attn: jax.Array, mask: jax.Array) -> jax.Array:
    """h: [B, N, D], attn: [B, N, H * Dh] (heads concatenated), mask: [B, N] -> [B, N, D]."""
    x = self.O(self.dropout(attn))
    if self.residual:
      x = h + x
    x = self.norm1(x, mask)
    y = self.ffn(x)
    if self.residual:
      y = x + y
    y = self.norm2(y, mask)
    return jnp.where(mask[..., None], y, 0.0)


class GraphTransformerLayer(nnx.Module):
  """One GT layer: multi-head attention, O, residual, norm, FFN, residual, norm."""

  def __init__(
    self,
    dim: int,
    num_heads: int,
    *,
    attention: str,
    dropout: float,
    batch_norm: bool,
    layer_norm: bool,
    residual: bool,
    rngs: nnx.Rngs,
  ):
    if attention not in ATTENTION_KINDS:
      raise ConfigError(f"Unknown attention={attention!r}; expected one of {ATTENTION_KINDS}.")
    self.attention_kind = attention
    self.attention = MultiHeadAttention(dim, num_heads, use_bias=False, logit_clamp=LOGIT_CLAMP, rngs=rngs)
    self.output = GTOutput(
      dim, dropout=dropout, batch_norm=batch_norm, layer_norm=layer_norm, residual=residual, rngs=rngs
    )

  def __call__(self, h: jax.Array, graph: GraphBatch) -> jax.Array:
    """h: [B, N, D] -> [B, N, D], zero on padded nodes."""
    mask = graph.node_mask
    if self.attention_kind == "sparse":
      attn = sparse_attention(*self.attention.qkv(h), graph, LOGIT_CLAMP)  # [B, N, H, Dh]
      attn = attn.reshape(h.shape[:2] + (-1,))
    else:
      attn = self.attention(h, mask=mask, pair_mask=full_pair_mask(mask))  # [B, N, H * Dh]
    return self.output(h, attn, mask)


class GraphTransformer(nnx.Module):
  """GT network: h^0 = embed(x) + embed_pe(pe), L GT layers, readout, MLPReadout.

  Every layer keeps width `hidden_dim`; `out_dim` is the number of outputs.
  `edge_in_dim` is accepted for a uniform interface and ignored: this is the GT
  layer without edge features.
  """

  def __init__(
    self,
    *,
    hidden_dim: int,
    num_layers: int,
    out_dim: int,
    num_heads: int = 8,
    attention: str = "sparse",
    node_in_dim: int = 0,
    edge_in_dim: int = 0,
    pe: str = "none",
    pe_dim: int = 0,
    dropout: float = 0.0,
    in_feat_dropout: float = 0.0,
    readout: str = "mean",
    batch_norm: bool = True,
    layer_norm: bool = False,
    residual: bool = True,
    rngs: nnx.Rngs,
  ):
    del edge_in_dim  # unused: no edge features in this GT variant
    if readout not in READOUTS:
      raise ConfigError(f"Unknown readout={readout!r}; expected one of {READOUTS}.")
    self.node_encoder = BenchmarkingNodeEncoder(node_in_dim, hidden_dim, pe=pe, pe_dim=pe_dim, rngs=rngs)
    self.in_feat_dropout = nnx.Dropout(in_feat_dropout, rngs=rngs)
    self.layers = nnx.List(
      GraphTransformerLayer(
        hidden_dim,
        num_heads,
        attention=attention,
        dropout=dropout,
        batch_norm=batch_norm,
        layer_norm=layer_norm,
        residual=residual,
        rngs=rngs,
      )
      for _ in range(num_layers)
    )
    self.head = MLPReadout(hidden_dim, out_dim, rngs=rngs)
    self.readout = readout

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, out_dim], or [B, N, out_dim] (zero on padding) when readout="none"."""
    h = self.in_feat_dropout(self.node_encoder(graph))  # [B, N, D]
    for layer in self.layers:
      h = layer(h, graph)
    out = self.head(pool_nodes(h, graph.node_mask, self.readout))
    if self.readout == "none":
      out = jnp.where(graph.node_mask[..., None], out, 0.0)
    return out
