"""SAN: the Spectral Attention Network.

Kreuzer, Beaini, Hamilton, Létourneau & Tossou, "Rethinking Graph Transformers
with Spectral Attention" (NeurIPS 2021), Sec. 4 (learned positional encoding,
"LPE") and Sec. 5 (the main graph Transformer), following the official
`layers/graph_transformer_layer.py`, `nets/*/SAN_NodeLPE.py` and
`data/molecules.py` (node LPE, full-graph variant by default).

Learned LPE (Sec. 4, Fig. 3). Node i has m tokens, one per frequency j:
  t_ij = A [u_j[i] / ||(u_1[i], ..., u_m[i])||, lambda_j] + a   (Linear(2, k))
u_j, lambda_j are eigenpairs of L = I - D^-1/2 A D^-1/2 in ascending order,
the trivial one kept; each node's row of eigenvector entries is scaled to
unit norm (the official `F.normalize(EigVecs, dim=1)`). A graph of n < m nodes
lacks frequencies n..m-1: they are key-masked and left out of the sum.
  LPE_i = sum_{j < n} TransformerEncoder(t_i1, ..., t_im)_j      (`gps_encoders.LearnedLPE`)
The encoder is torch.nn.TransformerEncoderLayer's post-norm layer with its
defaults (FFN width 2048, dropout 0.1, ReLU), here over [B * N, m, k] tokens.
Input: h_i^0 = [embed(x_i) (d - k) || LPE_i (k)].
`lpe_eigenpairs` names the batch fields that hold u_j, lambda_j: "lap" reads
graph.lap_eigvec / lap_eigval, "lap_sym" graph.lap_sym_eigvec / lap_sym_eigval,
for datasets whose lap_* fields hold another Laplacian's eigenpairs (ZINC's
lap_* are GraphGPS's combinatorial ones, its lap_sym_* SAN's).

Layer l, head h, query node i, key node j != i of the same graph
(`SANLayer.attend`; j -> i is a "real" pair when an edge j -> i exists, else a
"fake" pair of the complement graph):
  s_ij = sum_d (Q1 h_i * K1 h_j * E1 e_ij)_d / sqrt(d_h)  real pairs, e_ij the embedded edge
  s_ij = sum_d (Q2 h_i * K2 h_j * E2 e_fake)_d / sqrt(d_h) fake pairs, e_fake one learned vector
  w_ij = c_ij exp(clip(s_ij, -5, 5)) / (sum_j' c_ij' exp(clip(s_ij', -5, 5)) + 1e-6)
         c_ij = 1 / (1 + gamma) on real pairs, gamma / (1 + gamma) on fake pairs
  h_hat_i = O concat_h(sum_j w_ij V h_j)             (one V for both kinds; dropout before O)
then residual, BN/LN, FFN (2x width), residual, BN/LN exactly as in the Graph
Transformer (gt.py). This is the official `exp_real`/`exp_fake` and
`wV / (z + 1e-6)`: ONE normalisation over real and fake pairs together, not two
softmaxes mixed by gamma. Q, K, V, E have no bias. The sparse variant
(`full_graph=False`) keeps the real pairs only, with c_ij = 1.

In code the weights are a single softmax over the logits
  l_ij = clip(s_ij, -5, 5) on real pairs,  clip(s_ij, -5, 5) + log(gamma) on fake pairs,
plus one zero-valued "sink" key per graph with logit log(1e-6 (1 + gamma)),
which reproduces the 1e-6 in the official normaliser (it damps nodes whose
pairs are all fake when gamma is tiny, and gives 0 for a node with no pair).
Real-pair logits are computed per edge, as the official code does, and
scattered onto dense [B, H, N, N] pairs (`GraphBatch.to_pairs`); fake-pair logits
are dense. Because the clip comes before the gamma weight and real pairs carry
an edge factor, the logits enter research.nn's shared attention as its
additive bias (with q.k = 0), which then masks, normalises and aggregates V.

Edge embeddings: integer edge types use a table with one extra row for fake
pairs (the official `num_bond_type + 1`); featureless graphs (SBMs) a 2-row
table (row 1 real, row 0 fake, as the official `nn.Embedding(2, d)`).
Readout: sum/mean/max pooling and MLPReadout (graph level) or MLPReadout per
node (`readout="none"`, PATTERN/CLUSTER).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.models.graph.encoders import READOUTS, pool_nodes
from research.models.graph.gps_encoders import FeatureEmbedding, LearnedLPE
from research.models.graph.gt import LOGIT_CLAMP, GTOutput  # the official clamp(-5, 5) of every score
from research.nn.attention import MultiHeadAttention, dot_product_attention
from research.nn.dense import dense
from research.nn.mlp import MLPReadout

SOFTMAX_EPS = 1e-6  # the official `wV / (z + 1e-6)`


class SANPairs(NamedTuple):
  """Which ordered pairs (query i, key j) attend, per kind: each [B, N, N] bool.

  real: an edge j -> i exists (both nodes real, by construction of the edge list).
  fake: both nodes real, i != j and no edge j -> i; None in the sparse variant.
  """

  real: jax.Array
  fake: jax.Array | None


def san_pairs(graph: GraphBatch, full_graph: bool) -> SANPairs:
  """Real pairs from the edge list and, for the full graph, their complement without self-pairs."""
  ones = jnp.ones(graph.edge_mask.shape, jnp.float32)
  real = graph.to_pairs(ones) > 0  # [B, N, N]
  if not full_graph:
    return SANPairs(real, None)
  mask = graph.node_mask
  n = mask.shape[1]
  fake = mask[:, :, None] & mask[:, None, :] & ~jnp.eye(n, dtype=bool) & ~real
  return SANPairs(real, fake)


class SANEdgeEmbedding(nnx.Module):
  """Embeddings of real edges [S, E, D] and of the fake (complement) pairs' one edge type [D].

  Integer edge types (`edge_vocab` > 0, e.g. ZINC bonds) share one table with
  an extra row for fake pairs (row `edge_vocab`) in the full-graph variant.
  Float edge features (`edge_in_dim` > 0) go through a Linear map, fake pairs
  through a 1-row table. Featureless graphs use a 2-row table: row 1 for real
  edges, row 0 for fake pairs.
  """

  def __init__(self, dim: int, *, edge_in_dim: int, edge_vocab: int, full_graph: bool, rngs: nnx.Rngs):
    self.kind = "categorical" if edge_vocab > 0 else "float" if edge_in_dim > 0 else "featureless"
    self.edge_vocab = edge_vocab
    if self.kind == "categorical":
      self.real = FeatureEmbedding(0, dim, vocab_size=edge_vocab + int(full_graph), rngs=rngs)
    elif self.kind == "float":
      self.real = FeatureEmbedding(edge_in_dim, dim, rngs=rngs)
    else:
      self.real = FeatureEmbedding(0, dim, vocab_size=2, rngs=rngs)
    full_float = self.kind == "float" and full_graph
    self.fake = FeatureEmbedding(0, dim, vocab_size=1, rngs=rngs) if full_float else None

  def __call__(self, graph: GraphBatch) -> tuple[jax.Array, jax.Array]:
    """-> real edges [S, E, D] (zero on padded edges), fake-pair edge [D]."""
    if self.kind == "categorical":
      if graph.edge_features is None:
        raise ConfigError(
          f"SAN was built with edge_vocab={self.edge_vocab} and reads graph.edge_features; the batch has none."
        )
      real, fake = self.real(graph.edge_features), self.real(jnp.full((1, 1), self.edge_vocab, jnp.int32))
    elif self.kind == "float":
      if graph.edge_features is None:
        raise ConfigError("SAN was built with edge_in_dim > 0 and reads graph.edge_features; the batch has none.")
      real = self.real(graph.edge_features)
      fake = self.fake(jnp.zeros((1, 1), jnp.int32)) if self.fake is not None else jnp.zeros(real.shape[-1])
    else:
      real = self.real(jnp.ones(graph.edge_mask.shape + (1,), jnp.int32))
      fake = self.real(jnp.zeros((1, 1), jnp.int32))
    return jnp.where(graph.edge_mask[..., None], real, 0.0), fake.reshape(-1)


class SANLayer(nnx.Module):
  """One SAN layer: gamma-weighted attention over real and fake pairs, O, residual, norm, FFN, residual, norm."""

  def __init__(
    self,
    dim: int,
    num_heads: int,
    *,
    full_graph: bool,
    gamma: float,
    dropout: float,
    batch_norm: bool,
    layer_norm: bool,
    residual: bool,
    rngs: nnx.Rngs,
  ):
    self.num_heads = num_heads
    self.full_graph = full_graph
    self.gamma = gamma
    # Q1, K1 (real pairs) and V (all pairs).
    self.attention = MultiHeadAttention(dim, num_heads, use_bias=False, rngs=rngs)
    self.head_dim = self.attention.head_dim
    projection = lambda: dense(dim, dim, axes=("embed", "heads"), use_bias=False, rngs=rngs)
    self.E = projection()
    if full_graph:  # the official layer builds them even when gamma = 0
      self.Q_2, self.K_2, self.E_2 = projection(), projection(), projection()
    self.output = GTOutput(
      dim, dropout=dropout, batch_norm=batch_norm, layer_norm=layer_norm, residual=residual, rngs=rngs
    )

  def _split(self, x: jax.Array) -> jax.Array:
    return x.reshape(x.shape[:-1] + (self.num_heads, self.head_dim))

  def attend(self, h: jax.Array, graph: GraphBatch, e_real: jax.Array, e_fake: jax.Array, pairs: SANPairs) -> jax.Array:
    """Attention output before O: h [B, N, D], e_real [S, E, D], e_fake [D] -> [B, N, H * Dh]."""
    b, n = h.shape[:2]
    mask = graph.node_mask
    scale = 1.0 / math.sqrt(self.head_dim)
    q, k, v = self.attention.qkv(h)  # [B, N, H, Dh] each
    e = self._split(self.E(e_real))  # [S, E, H, Dh]
    s = jnp.sum(graph.gather(q, graph.receivers) * graph.gather(k, graph.senders) * e, axis=-1) * scale  # [S, E, H]
    s = jnp.clip(s, -LOGIT_CLAMP, LOGIT_CLAMP)
    logits = jnp.moveaxis(graph.to_pairs(s), -1, 1)  # [B, H, N, N], zero off the real pairs
    attend = pairs.real
    log_sink = math.log(SOFTMAX_EPS)
    if self.full_graph:
      log_sink = math.log(SOFTMAX_EPS * (1.0 + self.gamma))  # relative to the real pairs' weight 1/(1+gamma)
      if self.gamma > 0:  # gamma = 0 gives fake pairs zero weight: leave them out
        q2, k2 = self._split(self.Q_2(h)), self._split(self.K_2(h))  # [B, N, H, Dh]
        e2 = self._split(self.E_2(e_fake))  # [H, Dh]
        s2 = jnp.einsum("bihd,bjhd->bhij", q2, k2 * e2) * scale  # [B, H, N, N]
        s2 = jnp.clip(s2, -LOGIT_CLAMP, LOGIT_CLAMP) + math.log(self.gamma)
        logits = jnp.where(pairs.real[:, None], logits, s2)
        attend = pairs.real | pairs.fake
    # The sink key: value 0, logit log(1e-6 (1 + gamma)), valid for every real query.
    logits = jnp.concatenate([logits, jnp.full((b, self.num_heads, n, 1), log_sink, logits.dtype)], axis=-1)
    attend = jnp.concatenate([attend, mask[:, :, None]], axis=-1)  # [B, N, N + 1]
    v = jnp.concatenate([v, jnp.zeros((b, 1) + v.shape[2:], v.dtype)], axis=1)  # [B, N + 1, H, Dh]
    zeros = jnp.zeros_like(v)  # q.k = 0: the logits are all in the bias
    out = dot_product_attention(zeros[:, :n], zeros, v, bias=logits, query_mask=mask, pair_mask=attend)
    return out.reshape(b, n, -1)  # [B, N, H * Dh]

  def __call__(
    self, h: jax.Array, graph: GraphBatch, e_real: jax.Array, e_fake: jax.Array, pairs: SANPairs
  ) -> jax.Array:
    """h: [B, N, D] -> [B, N, D], zero on padded nodes."""
    return self.output(h, self.attend(h, graph, e_real, e_fake, pairs), graph.node_mask)


class SAN(nnx.Module):
  """SAN with the node LPE: h^0 = [embed(x) || LPE], L SAN layers, readout, MLPReadout.

  Node features are float (`node_in_dim`) or integer ids (`node_vocab`, e.g.
  ZINC atoms, the official `nn.Embedding`); edges are integer types
  (`edge_vocab`), float (`edge_in_dim`) or featureless. `lpe_dim=0` gives the
  official SAN without LPE. `readout="none"` gives node-level outputs
  [B, N, out_dim] (PATTERN/CLUSTER); otherwise graphs are pooled ("sum",
  "mean", "max") to [B, out_dim]. `lpe_sign_flip` randomly flips eigenvector
  signs in training; the official code draws the flips but never applies them,
  so it is off by default. `lpe_eigenpairs` picks the batch's eigenpair
  fields ("lap" or "lap_sym", see the module docstring).
  """

  def __init__(
    self,
    *,
    hidden_dim: int,
    num_layers: int,
    out_dim: int,
    num_heads: int = 8,
    full_graph: bool = True,
    gamma: float = 1e-5,
    node_in_dim: int = 0,
    node_vocab: int = 0,
    edge_in_dim: int = 0,
    edge_vocab: int = 0,
    lpe_frequencies: int = 10,
    lpe_dim: int = 16,
    lpe_layers: int = 3,
    lpe_heads: int = 4,
    lpe_ffn_dim: int = 2048,
    lpe_dropout: float = 0.1,
    lpe_sign_flip: bool = False,
    lpe_eigenpairs: str = "lap",
    dropout: float = 0.0,
    in_feat_dropout: float = 0.0,
    readout: str = "mean",
    batch_norm: bool = True,
    layer_norm: bool = False,
    residual: bool = True,
    rngs: nnx.Rngs,
  ):
    if readout not in READOUTS:
      raise ConfigError(f"Unknown readout={readout!r}; expected one of {READOUTS}.")
    if not (gamma >= 0 and math.isfinite(gamma)):
      raise ConfigError(f"gamma={gamma} must be a finite number >= 0 (the weight of fake pairs).")
    if not 0 <= lpe_dim < hidden_dim:
      raise ConfigError(
        f"lpe_dim={lpe_dim} must lie in [0, hidden_dim={hidden_dim}): the LPE takes lpe_dim of the "
        "hidden_dim channels (0 = no LPE)."
      )
    if lpe_dim and lpe_dim % lpe_heads:
      raise ConfigError(f"lpe_dim={lpe_dim} is not divisible by lpe_heads={lpe_heads}.")
    if hidden_dim % num_heads:
      raise ConfigError(f"hidden_dim={hidden_dim} is not divisible by num_heads={num_heads}.")
    self.node_embedding = FeatureEmbedding(node_in_dim, hidden_dim - lpe_dim, vocab_size=node_vocab, rngs=rngs)
    self.lpe = (
      LearnedLPE(
        lpe_frequencies,
        lpe_dim,
        num_layers=lpe_layers,
        num_heads=lpe_heads,
        ffn_dim=lpe_ffn_dim,
        dropout=lpe_dropout,
        sign_flip=lpe_sign_flip,
        eigenpairs=lpe_eigenpairs,
        normalize_rows=True,
        rngs=rngs,
      )
      if lpe_dim
      else None
    )
    self.edge_embedding = SANEdgeEmbedding(
      hidden_dim, edge_in_dim=edge_in_dim, edge_vocab=edge_vocab, full_graph=full_graph, rngs=rngs
    )
    self.in_feat_dropout = nnx.Dropout(in_feat_dropout, rngs=rngs)
    self.layers = nnx.List(
      SANLayer(
        hidden_dim,
        num_heads,
        full_graph=full_graph,
        gamma=gamma,
        dropout=dropout,
        batch_norm=batch_norm,
        layer_norm=layer_norm,
        residual=residual,
        rngs=rngs,
      )
      for _ in range(num_layers)
    )
    self.head = MLPReadout(hidden_dim, out_dim, rngs=rngs)
    self.full_graph = full_graph
    self.readout = readout

  def embed_nodes(self, graph: GraphBatch) -> jax.Array:
    """h^0 = [embed(x) || LPE]: [B, N, hidden], zero on padded nodes."""
    h = self.node_embedding(graph.node_features)
    if self.lpe is not None:
      h = jnp.concatenate([h, self.lpe(graph)], axis=-1)
    return jnp.where(graph.node_mask[..., None], h, 0.0)

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, out_dim], or [B, N, out_dim] (zero on padding) when readout="none"."""
    h = self.in_feat_dropout(self.embed_nodes(graph))  # [B, N, D]
    e_real, e_fake = self.edge_embedding(graph)  # [S, E, D], [D]
    pairs = san_pairs(graph, self.full_graph)
    for layer in self.layers:
      h = layer(h, graph, e_real, e_fake, pairs)
    out = self.head(pool_nodes(h, graph.node_mask, self.readout))
    if self.readout == "none":
      out = jnp.where(graph.node_mask[..., None], out, 0.0)
    return out
