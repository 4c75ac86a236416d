"""Exphormer: sparse attention over real edges, expander edges and virtual nodes.

Shirzad, Velingker, Venkatachalam, Sutherland & Sinop, "Exphormer: Sparse
Transformers for Graphs" (ICML 2023), following the official code
(hamed1375/Exphormer @1b43962, a GraphGPS fork): `graphgps/layer/Exphormer.py`
(ExphormerAttention), `layer/multi_model_layer.py` (MultiLayer, built from
"CustomGatedGCN+Exphormer"), `encoder/exp_edge_fixer.py` (ExpanderEdgeFixer),
`layer/gatedgcn_layer.py` and `encoder/equivstable_laplace_pos_encoder.py`
(EquivStableLapPE), `network/multi_model.py` (MultiModel).

The attention graph of each input graph (ExpanderEdgeFixer) is the union of
  - its real edges j -> i, with features e_ij^0: the edge encoder's output,
    the same in every layer (the GatedGCN's updated edge states do not reach
    the attention);
  - its expander edges (a random 2d-regular graph stored with the data,
    research/graph/expander.py), all with one learned feature e_x;
  - V virtual nodes per graph, each joined to every real node of its graph in
    both directions: j -> v with a learned feature e_in[v], v -> i with
    e_out[v]. Virtual nodes have no edges among themselves.

ExphormerAttention (Exphormer.py), per head with width d_k, for an edge j -> i
with feature e_ij (`AttentionEdges`):
  w_ij  = exp(clamp(sum_c (Q h_i)_c (K h_j)_c (E e_ij)_c / sqrt(d_k), -5, 5))
  out_i = sum_j w_ij V h_j / (sum_j w_ij + 1e-6)           (sum over all j -> i)
Q, K, V and E are bias-free linear maps and the heads are concatenated without
an output projection. This is a softmax over each receiver's incoming edges
up to the 1e-6, written as the code writes it: exp without a max shift (the
clamp bounds it), so the sums over the three edge sets add up separately.
Virtual nodes (`VirtualNodes`) enter the first layer as learned embeddings;
each layer's attention output at a virtual node becomes its state for the next
layer, with no residual, normalisation or FFN (`batch.virt_h = h_out[num_node:]`).

Layer (MultiLayer; the structure of GraphGPS's layer, research/models/graph/gps.py):
  h_M = BN(GatedGCN(h, e, p))                      (residual and dropout inside; updates e)
  h_T = BN(h + Dropout(ExphormerAttention(h)))
  h'  = BN(h_M + h_T + Dropout(W_2 Dropout(ReLU(W_1 (h_M + h_T)))))    (FFN width 2D)
The GatedGCN (`EquivStableGatedGCNLayer`, gated_gcn.py's layer with a
gate_scale) scales its gates by
  r_ij = sigmoid(W_b ReLU(W_a ||p_i - p_j||^2 + a) + b)      (EquivStableLapPE)
with p = Linear(10 -> D) of the first 10 Laplacian eigenvectors, computed once
by the encoder (Wang et al., "Equivariant and Stable Positional Encoding for
More Powerful Graph Neural Networks", ICLR 2022). Encoders: h^0 = Linear(x)
(LinearNode; with EquivStableLapPE the PE is not concatenated), DummyEdge or
feature edge embeddings (gps_encoders.py); head: GraphGPSHead (heads.py).
The config's attn_dropout is not read by ExphormerAttention, so there is none.

Layout. Real and expander edges are two packed edge lists of the GraphBatch
(`senders`, `expander_senders`, ...; same packs and node offsets). Virtual
nodes are not appended to the [B, N] node array: their states are a separate
[B, V, D] array, and their edges, complete bipartite between a graph's V
virtual and n real nodes, are dense [B, N, V, H] and [B, V, N, H] weight tables
masked by node_mask (B N V H work per layer, no index arrays, pack layout
untouched). This is exact because the normalisation is a plain sum of w_ij.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.struct
import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.models.graph.gated_gcn import GatedGCNLayer
from research.models.graph.gps_encoders import FeatureEmbedding, GPSEdgeEncoder
from research.models.graph.heads import GraphGPSHead
from research.nn.dense import dense
from research.nn.mlp import MLP
from research.nn.norm import Norm

LOGIT_CLAMP = 5.0  # `score.sum(-1).clamp(-5, 5)` in Exphormer.py
NORM_EPS = 1e-6  # `wV / (Z + 1e-6)`
LOCAL_MODELS = ("gated_gcn", "none")
PE_KINDS = ("none", "equivstable_lap")


@flax.struct.dataclass
class AttentionEdges:
  """One packed edge list that ExphormerAttention attends along (indices as GraphBatch.senders).

  senders, receivers, mask: [S, E].
  features: [S, E, De] per edge, [De] shared by every edge, or None (no E term in the score).
  """

  senders: jax.Array
  receivers: jax.Array
  mask: jax.Array
  features: jax.Array | None = None


@flax.struct.dataclass
class VirtualNodes:
  """V virtual nodes per graph, joined to every real node of their graph in both directions.

  h: [B, V, D] states. in_features / out_features: [V, De] features of the edges real -> v and
  v -> real (or None without edge features).
  """

  h: jax.Array
  in_features: jax.Array | None = None
  out_features: jax.Array | None = None


class ExphormerAttention(nnx.Module):
  """Exphormer's attention over any number of packed edge lists plus virtual nodes (module docstring)."""

  def __init__(
    self,
    dim: int,
    num_heads: int,
    *,
    edge_dim: int | None = None,
    use_edge_features: bool = True,
    rngs: nnx.Rngs,
  ):
    if dim % num_heads:
      raise ConfigError(f"dim={dim} is not divisible by num_heads={num_heads}; choose a head count that divides it.")
    self.num_heads, self.head_dim = num_heads, dim // num_heads
    projection = lambda d_in: dense(d_in, dim, axes=("embed", "heads"), use_bias=False, rngs=rngs)
    self.Q, self.K, self.V = projection(dim), projection(dim), projection(dim)
    self.E = projection(edge_dim or dim) if use_edge_features else None

  def _heads(self, x: jax.Array) -> jax.Array:
    """[..., H * d_k] -> [..., H, d_k]."""
    return x.reshape(x.shape[:-1] + (self.num_heads, self.head_dim))

  def _edge_term(self, features: jax.Array | None, what: str) -> jax.Array | None:
    """E e per head, [..., H, d_k], or None without edge features."""
    if (features is None) != (self.E is None):
      raise ConfigError(
        f"{what}: features are {'missing' if features is None else 'given'}, but this attention was built with "
        f"use_edge_features={self.E is not None}; pass features for every edge set, or none."
      )
    return None if features is None else self._heads(self.E(features))

  def _weights(self, scores: jax.Array) -> jax.Array:
    """w = exp(clamp(scores / sqrt(d_k), -5, 5)), scores = sum_c q_c k_c e_c."""
    scores = scores / jnp.sqrt(self.head_dim).astype(scores.dtype)
    return jnp.exp(jnp.clip(scores, -LOGIT_CLAMP, LOGIT_CLAMP))

  def _bipartite_weights(self, real: jax.Array, virtual: jax.Array, e: jax.Array | None) -> jax.Array:
    """Weights w of the edges between the real and the virtual nodes: [B, N, V, H].

    real: [B, N, H, d_k] and virtual: [B, V, H, d_k] projections (queries on the receiving side,
    keys on the sending side); e: [V, H, d_k], or None without edge features.
    """
    if e is None:
      return self._weights(jnp.einsum("bnhc,bvhc->bnvh", real, virtual))
    return self._weights(jnp.einsum("bnhc,bvhc,vhc->bnvh", real, virtual, e))

  def __call__(
    self,
    h: jax.Array,
    graph: GraphBatch,
    edge_sets: Sequence[AttentionEdges],
    virtual: VirtualNodes | None = None,
  ) -> tuple[jax.Array, jax.Array | None]:
    """h: [B, N, D] -> (attention output [B, N, D], zero on padding; virtual outputs [B, V, D] or None)."""
    q, k, v = self._heads(self.Q(h)), self._heads(self.K(h)), self._heads(self.V(h))  # [B, N, H, d_k]
    num = jnp.zeros_like(v)  # [B, N, H, d_k]: sum_j w_ij V h_j
    den = jnp.zeros(v.shape[:-1], v.dtype)  # [B, N, H]: sum_j w_ij
    for i, edges in enumerate(edge_sets):
      q_i = graph.gather(q, edges.receivers)  # [S, E, H, d_k]
      k_j, v_j = graph.gather(k, edges.senders), graph.gather(v, edges.senders)
      e = self._edge_term(edges.features, f"edge set {i}")  # [S, E, H, d_k], or [H, d_k] shared
      products = q_i * k_j if e is None else q_i * k_j * e  # [S, E, H, d_k]
      w = self._weights(jnp.sum(products, axis=-1))  # [S, E, H]
      num = num + graph.aggregate(w[..., None] * v_j, edges.receivers, edges.mask)
      den = den + graph.aggregate(w, edges.receivers, edges.mask)
    virtual_out = None
    if virtual is not None:
      node_mask = graph.node_mask[:, :, None, None]  # [B, N, 1, 1]
      qv, kv, vv = self._heads(self.Q(virtual.h)), self._heads(self.K(virtual.h)), self._heads(self.V(virtual.h))
      e_out = self._edge_term(virtual.out_features, "virtual node out-edges")  # [V, H, d_k]
      e_in = self._edge_term(virtual.in_features, "virtual node in-edges")
      w_out = self._bipartite_weights(q, kv, e_out)  # [B, N, V, H]: virtual v -> real node n
      num = num + jnp.einsum("bnvh,bvhc->bnhc", w_out, vv)
      den = den + jnp.sum(w_out, axis=2)
      w_in = jnp.where(node_mask, self._bipartite_weights(k, qv, e_in), 0.0)  # [B, N, V, H]: real node n -> v
      virtual_out = jnp.einsum("bnvh,bnhc->bvhc", w_in, v) / (jnp.sum(w_in, axis=1)[..., None] + NORM_EPS)
      virtual_out = virtual_out.reshape(virtual_out.shape[:2] + (-1,))  # [B, V, D]
    out = (num / (den[..., None] + NORM_EPS)).reshape(h.shape[:2] + (-1,))  # [B, N, D]
    return jnp.where(graph.node_mask[..., None], out, 0.0), virtual_out


class EquivStableLapPE(nnx.Module):
  """GraphGPS's EquivStableLapPE encoder: p_i = Linear(K -> dim) of node i's first K Laplacian eigenvectors.

  Missing eigenvectors (graphs with fewer than K nodes) are zero, as the
  official NaN -> 0; no sign flip (the gate reads ||p_i - p_j||).
  """

  def __init__(self, num_frequencies: int, dim: int, *, rngs: nnx.Rngs):
    self.num_frequencies = num_frequencies
    self.linear = dense(num_frequencies, dim, axes=(None, "embed"), rngs=rngs)

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, N, dim], zero on padded nodes."""
    k = self.num_frequencies
    if graph.lap_eigvec is None or graph.lap_eigvec.shape[-1] < k:
      raise ConfigError(
        f"EquivStableLapPE reads {k} eigenvectors from graph.lap_eigvec; the batch has "
        f"{None if graph.lap_eigvec is None else graph.lap_eigvec.shape[-1]}."
      )
    p = self.linear(graph.lap_eigvec[..., :k].astype(jnp.float32))
    return jnp.where(graph.node_mask[..., None], p, 0.0)


class EquivStableGatedGCNLayer(GatedGCNLayer):
  """GraphGPS's GatedGCN with the EquivStableLapPE gate (residual, dropout before it).

  r_ij = sigmoid(MLP(||p_i - p_j||^2)), MLP 1 -> dim -> 1, is GatedGCNLayer's
  gate_scale: sigma_ij = sigmoid(e_hat_ij) * r_ij (GatedGCNLayer's D and E read
  the sender and receiver). `pe_gate=False` gives the plain layer (r_ij = 1).
  """

  def __init__(self, dim: int, *, dropout: float, pe_gate: bool, rngs: nnx.Rngs):
    super().__init__(dim, dropout=dropout, batch_norm=True, residual=True, dropout_before_residual=True, rngs=rngs)
    self.pe_gate = MLP(1, [dim], 1, in_axis=None, out_axis=None, rngs=rngs) if pe_gate else None

  def __call__(
    self, h: jax.Array, e: jax.Array, graph: GraphBatch, pe: jax.Array | None = None
  ) -> tuple[jax.Array, jax.Array]:
    """h: [B, N, D], e: [S, E, D], pe: [B, N, D] (with pe_gate) -> (h, e), zero on padding."""
    return super().__call__(h, e, graph, gate_scale=self.pe_gate_scale(graph, pe))

  def pe_gate_scale(self, graph: GraphBatch, pe: jax.Array | None) -> jax.Array | None:
    """r_ij: [S, E, 1], or None without pe_gate."""
    if self.pe_gate is None:
      return None
    if pe is None:
      raise ConfigError("This GatedGCN gates by EquivStableLapPE distances; pass pe (the encoder's [B, N, D]).")
    distance = jnp.sum(
      (graph.gather(pe, graph.receivers) - graph.gather(pe, graph.senders)) ** 2, axis=-1, keepdims=True
    )  # [S, E, 1]
    return jax.nn.sigmoid(self.pe_gate(distance))


class ExphormerLayer(nnx.Module):
  """One MultiLayer: GatedGCN and Exphormer attention side by side, summed, then an FFN (module docstring)."""

  def __init__(
    self,
    dim: int,
    *,
    num_heads: int,
    local_model: str,
    pe_gate: bool,
    dropout: float,
    batch_norm: bool,
    rngs: nnx.Rngs,
  ):
    if local_model not in LOCAL_MODELS:
      raise ConfigError(f"Unknown local_model={local_model!r}; expected one of {LOCAL_MODELS}.")
    norm = lambda: Norm(dim, batch_norm=batch_norm, rngs=rngs)
    if local_model == "gated_gcn":
      self.local = EquivStableGatedGCNLayer(dim, dropout=dropout, pe_gate=pe_gate, rngs=rngs)
      self.norm_local = norm()
    else:
      self.local = self.norm_local = None
    self.attention = ExphormerAttention(dim, num_heads, rngs=rngs)
    self.norm_attn = norm()
    self.ffn = MLP(dim, [2 * dim], dim, dropout=dropout, rngs=rngs)
    self.norm_ffn = norm()
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(
    self,
    h: jax.Array,
    e: jax.Array,
    graph: GraphBatch,
    edge_sets: Sequence[AttentionEdges],
    virtual: VirtualNodes | None,
    pe: jax.Array | None,
  ) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    """h: [B, N, D], e: [S, E, D] -> (h, e, virtual states [B, V, D] or None)."""
    mask = graph.node_mask
    branches = []
    if self.local is not None:
      h_local, e = self.local(h, e, graph, pe)  # residual and dropout inside
      branches.append(self.norm_local(h_local, mask))
    h_attn, virtual_h = self.attention(h, graph, edge_sets, virtual)
    branches.append(self.norm_attn(h + self.dropout(h_attn), mask))
    h_sum = sum(branches)
    h = self.norm_ffn(h_sum + self.dropout(self.ffn(h_sum)), mask)
    return jnp.where(mask[..., None], h, 0.0), e, virtual_h


class AttentionGraphEmbeddings(nnx.Module):
  """The learned parts of the attention graph (ExpanderEdgeFixer): e_x, and per virtual node its
  initial state, e_in and e_out. Tables start as torch.nn.Embedding does, N(0, 1)."""

  def __init__(self, dim: int, *, expander_edges: bool, num_virtual_nodes: int, rngs: nnx.Rngs):
    table = lambda rows: nnx.Embed(
      rows, dim, embedding_init=nnx.with_partitioning(nnx.initializers.normal(1.0), (None, "embed")), rngs=rngs
    )
    self.expander_edge = table(1) if expander_edges else None
    self.num_virtual_nodes = num_virtual_nodes
    if num_virtual_nodes:
      self.virtual_node, self.virtual_in, self.virtual_out = (table(num_virtual_nodes) for _ in range(3))

  def expander_feature(self) -> jax.Array:
    """e_x: [D]."""
    return self.expander_edge.embedding[0]

  def virtual_nodes(self, batch_size: int) -> VirtualNodes:
    """Initial virtual node states [B, V, D] and their edge features [V, D]."""
    init = self.virtual_node.embedding[...]
    return VirtualNodes(
      h=jnp.broadcast_to(init, (batch_size,) + init.shape),
      in_features=self.virtual_in.embedding[...],
      out_features=self.virtual_out.embedding[...],
    )


class Exphormer(nnx.Module):
  """Exphormer network (MultiModel): encoders, `num_layers` Exphormer layers, node or graph head.

  `real_edges`, `expander_edges` and `num_virtual_nodes` choose the attention
  graph (prep.add_edge_index, prep.use_exp_edges, prep.num_virt_node);
  expander edges need a batch with `expander_senders` (config.data.max_expander_edges).
  `pe="equivstable_lap"` reads `pe_channels` eigenvectors (max_freqs) for the
  GatedGCN gate. Node heads return [B, N, out_dim] (zero on padded nodes),
  graph heads [B, out_dim]; binary node classification uses out_dim = 1.
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
    local_model: str = "gated_gcn",
    pe: str = "equivstable_lap",
    pe_channels: int = 10,
    real_edges: bool = True,
    expander_edges: bool = True,
    num_virtual_nodes: int = 0,
    dropout: float = 0.0,
    batch_norm: bool = True,
    head: str = "node",
    head_layers: int = 3,
    graph_pooling: str = "mean",
    rngs: nnx.Rngs,
  ):
    if pe not in PE_KINDS:
      raise ConfigError(f"Unknown pe={pe!r}; expected one of {PE_KINDS}.")
    if num_virtual_nodes < 0:
      raise ConfigError(f"num_virtual_nodes={num_virtual_nodes} must be >= 0.")
    if not (real_edges or expander_edges or num_virtual_nodes):
      raise ConfigError("The attention graph is empty: enable real_edges, expander_edges or num_virtual_nodes > 0.")
    if pe != "none" and pe_channels <= 0:
      raise ConfigError(f"pe={pe!r} needs pe_channels > 0 (eigenvectors read); got {pe_channels}.")
    self.node_encoder = FeatureEmbedding(node_in_dim, hidden_dim, vocab_size=node_vocab, rngs=rngs)
    self.pe_encoder = EquivStableLapPE(pe_channels, hidden_dim, rngs=rngs) if pe != "none" else None
    self.edge_encoder = GPSEdgeEncoder(hidden_dim, edge_in_dim=edge_in_dim, edge_vocab=edge_vocab, rngs=rngs)
    self.attention_graph = AttentionGraphEmbeddings(
      hidden_dim, expander_edges=expander_edges, num_virtual_nodes=num_virtual_nodes, rngs=rngs
    )
    self.real_edges, self.expander_edges = real_edges, expander_edges
    self.layers = nnx.List(
      ExphormerLayer(
        hidden_dim,
        num_heads=num_heads,
        local_model=local_model,
        pe_gate=pe != "none",
        dropout=dropout,
        batch_norm=batch_norm,
        rngs=rngs,
      )
      for _ in range(num_layers)
    )
    self.head = GraphGPSHead(hidden_dim, out_dim, kind=head, num_layers=head_layers, pooling=graph_pooling, rngs=rngs)

  def edge_sets(self, graph: GraphBatch, e0: jax.Array) -> list[AttentionEdges]:
    """The attention's packed edge lists: real edges with e0 [S, E, D] (one [D] vector for DummyEdge),
    expander edges with e_x [D]."""
    sets = []
    if self.real_edges:
      features = e0
      if self.edge_encoder.featureless:  # DummyEdge: one embedding for every edge, so E e is computed once
        features = self.edge_encoder.embed.table.embedding[0]  # [D]
      sets.append(AttentionEdges(graph.senders, graph.receivers, graph.edge_mask, features))
    if self.expander_edges:
      if graph.expander_senders is None:
        raise ConfigError(
          "Exphormer(expander_edges=True) needs expander edges in the batch: set "
          "config.data.max_expander_edges (records with expander_senders/receivers)."
        )
      sets.append(
        AttentionEdges(
          graph.expander_senders, graph.expander_receivers, graph.expander_mask, self.attention_graph.expander_feature()
        )
      )
    return sets

  def __call__(self, graph: GraphBatch) -> jax.Array:
    h = jnp.where(graph.node_mask[..., None], self.node_encoder(graph.node_features), 0.0)  # [B, N, D]
    pe = self.pe_encoder(graph) if self.pe_encoder is not None else None  # [B, N, D]
    e = self.edge_encoder(graph)  # [S, E, D]
    edge_sets = self.edge_sets(graph, e)
    virtual = None
    if self.attention_graph.num_virtual_nodes:
      virtual = self.attention_graph.virtual_nodes(h.shape[0])
    for layer in self.layers:
      h, e, virtual_h = layer(h, e, graph, edge_sets, virtual, pe)
      if virtual is not None:
        virtual = virtual.replace(h=virtual_h)
    return self.head(h, graph.node_mask)  # [B, N, out] or [B, out]
