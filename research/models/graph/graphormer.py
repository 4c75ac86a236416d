"""Graphormer: a Transformer over all node pairs with structural attention biases.

Ying, Cai, Luo, Zheng, Ke, He, Shen & Liu, "Do Transformers Really Perform Bad
for Graph Representation?" (NeurIPS 2021), Sec. 3, following the official code
(microsoft/Graphormer): the paper-era `graphormer/model.py` (branch v1.0),
whose ZINC model is Graphormer-Slim, and the encoders of the current
`graphormer/modules/graphormer_layers.py`, which compute the same biases.

B graphs padded to N nodes; T = 1 + N positions (position 0 is the graph
token); H heads; K = multi_hop_max_dist hops.

Centrality encoding (Eq. 5), node i of a graph:
  h_i^(0) = sum_f x[a_if] + z^-[deg^-(i) + 1] + z^+[deg^+(i) + 1]
  a_if are the node's integer feature ids, all columns in one table (summed,
  as the official atom encoder does). Row 0 of the degree tables is the
  official padding row. The official code gives both degree tables the same
  number, the count of edges that leave i (adjacency row sums; "for
  undirected graph" in its collator); `directed_degrees=True` feeds the
  in-degree table the count of edges that enter i instead.
Graph token (the special node [VNode], Sec. 3.2): a learned vector at position 0;
  the graph's representation is its final state.
Attention bias, shared by all layers, [B, H, T, T] (`GraphormerAttentionBias`):
  bias_ij = b[phi(i, j) + 1] + c_ij                 real nodes i, j (Eq. 6, 7)
  bias_0j = bias_i0 = t                            token row and column (learned [H])
  b: spatial table [num_spatial, H], read at the shortest-path distance + 1
     (`graph.spd`, Graphormer's 510 when unreachable; row 0 is padding).
  c_ij = (1 / N_ij) sum_{n=1}^{N_ij} e_n W^E_n       multi-hop edge encoding (Eq. 7)
     e_n [H]: the edge embedding of the n-th edge on the shortest path from i
     to j (`graph.path_edges`), averaged over the edge's feature columns;
     W^E_n [H, H]: a learned matrix per hop (the paper's w^E_n, one weight
     vector per hop, mixes heads in the official code); N_ij = min(d(i, j),
     K) is the number of hops kept; the sum is empty (0) for i = j and for
     unreachable pairs.
  It is added to the logits of the shared attention (research.nn.attention)
  with a key mask over padded nodes: padding never receives attention, and a
  graph without nodes still has its token, so every row is finite. No pair is
  masked by distance (the official spatial_pos_max = 1024 exceeds them all).
Pre-LN layer (Eq. 8, 9):
  h' = h + Dropout(O MHA(LN(h)))                  attention weights: attention_dropout
  h  = h' + Dropout(W_2 ActDropout(GELU(W_1 LN(h'))))
Output: y = W_out LN(h_0^(L)) + b_out, from the token (Graphormer-Slim on ZINC:
  a scalar regression).

Initialisation as the v1.0 code: Linear weights N(0, (0.02 / sqrt(L))^2) with
zero biases, every embedding table N(0, 0.02^2), LayerNorms ones and zeros.

Table sizes count rows as the official arguments do (num_in_degree,
num_spatial, num_edge_dis); the defaults are the v1.0 ZINC tables (64 degree
rows, 40 spatial rows, 40 hop matrices) and its `--multi_hop_max_dist 20`.
With hidden_dim=80, num_layers=12, num_heads=8, ffn_dim=80, out_dim=1 and
node_vocab = edge_vocab = 64 (v1.0's ZINC atom and edge tables), the model has
489,481 parameters, as the v1.0 model.py has (its README reports 489.3K).
Degrees and distances beyond a table's last row share that row (the official
tables would fail to index them).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.nn.attention import MultiHeadAttention

EMBED_INIT_STD = 0.02  # every embedding table (v1.0 `init_params`)
_gelu = functools.partial(jax.nn.gelu, approximate=False)  # torch nn.GELU: exact erf form


def _linear(in_dim: int, out_dim: int, axes: tuple[str | None, str | None], std: float, rngs: nnx.Rngs) -> nnx.Linear:
  """nn.Linear with weights N(0, std^2) and zero bias, on logical `axes`."""
  return nnx.Linear(
    in_dim,
    out_dim,
    kernel_init=nnx.with_partitioning(nnx.initializers.normal(std), axes),
    bias_init=nnx.with_partitioning(nnx.initializers.zeros_init(), (axes[1],)),
    rngs=rngs,
  )


def _embedding(rows: int, dim: int, axis: str | None, rngs: nnx.Rngs) -> nnx.Embed:
  """A [rows, dim] table drawn from N(0, 0.02^2)."""
  init = nnx.with_partitioning(nnx.initializers.normal(EMBED_INIT_STD), (None, axis))
  return nnx.Embed(rows, dim, embedding_init=init, rngs=rngs)


def _param(shape: tuple[int, ...], axes: tuple[str | None, ...], rngs: nnx.Rngs) -> nnx.Param:
  """A free parameter drawn from N(0, 0.02^2) (an official nn.Embedding used as a weight)."""
  init = nnx.with_partitioning(nnx.initializers.normal(EMBED_INIT_STD), axes)
  return nnx.Param(init(rngs.params(), shape))


def _integer_ids(x: jax.Array | None, name: str) -> jax.Array:
  """Checks that graph.<name> holds integer ids [..., F]."""
  if x is None or not jnp.issubdtype(x.dtype, jnp.integer):
    raise ConfigError(
      f"Graphormer embeds integer category ids from graph.{name}; got "
      f"{None if x is None else f'dtype {x.dtype}, shape {x.shape}'}."
    )
  return x


def _clip_index(x: jax.Array, rows: int) -> jax.Array:
  """Integer table index, the last row standing for everything beyond it."""
  return jnp.clip(x.astype(jnp.int32), 0, rows - 1)


class GraphormerAttentionBias(nnx.Module):
  """Spatial encoding, multi-hop edge encoding and the token's virtual distance: [B, H, T, T]."""

  def __init__(
    self,
    num_heads: int,
    *,
    num_spatial: int,
    edge_vocab: int,
    num_edge_distances: int,
    multi_hop_max_dist: int,
    rngs: nnx.Rngs,
  ):
    if num_spatial < 2:
      raise ConfigError(f"num_spatial={num_spatial} must be >= 2 (row 0 pads, row 1 is distance 0).")
    if edge_vocab < 0:
      raise ConfigError(f"edge_vocab={edge_vocab} must be >= 0 (0: no edge encoding).")
    if edge_vocab and not 1 <= multi_hop_max_dist <= num_edge_distances:
      raise ConfigError(
        f"multi_hop_max_dist={multi_hop_max_dist} must be in [1, num_edge_distances={num_edge_distances}]: "
        "each hop has its own [H, H] matrix."
      )
    self.num_heads = num_heads
    self.num_spatial = num_spatial
    self.multi_hop_max_dist = multi_hop_max_dist
    self.spatial = _embedding(num_spatial, num_heads, "heads", rngs)
    self.virtual_distance = _param((num_heads,), ("heads",), rngs)
    if edge_vocab:
      self.edge = _embedding(edge_vocab, num_heads, "heads", rngs)
      self.hop_weights = _param((num_edge_distances, num_heads, num_heads), (None, None, "heads"), rngs)
    else:
      self.edge = None

  def spatial_bias(self, graph: GraphBatch) -> jax.Array:
    """b[phi(i, j) + 1] on node pairs: [B, H, N, N] (row 0 on padded pairs, which the key mask hides)."""
    if graph.spd is None:
      raise ConfigError(
        "Graphormer reads shortest-path distances from graph.spd, but the batch has none; "
        "store 'spd' (research.graph.shortest_paths.shortest_path_distances) in the records."
      )
    index = _clip_index(graph.spd.astype(jnp.int32) + 1, self.num_spatial)  # [B, N, N]
    return jnp.moveaxis(self.spatial(index), -1, 1)  # [B, H, N, N]

  def edge_bias(self, graph: GraphBatch) -> jax.Array:
    """c_ij on node pairs: [B, H, N, N]."""
    k = self.multi_hop_max_dist
    if graph.path_edges is None or graph.path_edges.shape[-1] < k:
      raise ConfigError(
        f"Graphormer's edge encoding reads {k} hops (multi_hop_max_dist) from graph.path_edges; the batch has "
        f"{'none' if graph.path_edges is None else graph.path_edges.shape[-1]}. Store 'path_edges' "
        f"(research.graph.shortest_paths.shortest_path_edges) with max_distance >= {k}."
      )
    features = _integer_ids(graph.edge_features, "edge_features")  # [S, E, F]
    e = jnp.mean(self.edge(features), axis=-2)  # [S, E, H]
    ids = graph.path_edges[..., :k]  # [B, N, N, K]
    hops = graph.gather_edges(e, ids)  # [B, N, N, K, H], zero where no hop
    c = jnp.einsum("bijkh,khg->bijg", hops, self.hop_weights[:k])  # [B, N, N, H]
    num_hops = jnp.sum(ids >= 0, axis=-1, keepdims=True)  # [B, N, N, 1] = min(d, K) on reachable pairs
    c = c / jnp.maximum(num_hops, 1).astype(c.dtype)
    return jnp.moveaxis(c, -1, 1)  # [B, H, N, N]

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, H, T, T], T = 1 + N; position 0 is the graph token."""
    pairs = self.spatial_bias(graph)  # [B, H, N, N]
    if self.edge is not None:
      pairs = pairs + self.edge_bias(graph)
    b, h, n = pairs.shape[0], self.num_heads, graph.num_nodes
    t = self.virtual_distance[...]  # [H]
    column = jnp.broadcast_to(t[None, :, None, None], (b, h, n, 1))  # node -> token
    row = jnp.broadcast_to(t[None, :, None, None], (b, h, 1, 1 + n))  # token -> token and nodes
    return jnp.concatenate([row, jnp.concatenate([column, pairs], axis=-1)], axis=2)


class GraphormerLayer(nnx.Module):
  """Pre-LN Transformer layer with an additive attention bias (v1.0 `EncoderLayer`)."""

  def __init__(
    self,
    dim: int,
    ffn_dim: int,
    num_heads: int,
    *,
    dropout: float,
    attention_dropout: float,
    activation_dropout: float,
    init_std: float,
    rngs: nnx.Rngs,
  ):
    self.norm_attn = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs)
    self.attention = MultiHeadAttention(dim, num_heads, weights_dropout=attention_dropout, rngs=rngs)
    for projection in (self.attention.query, self.attention.key, self.attention.value):
      projection.kernel[...] = init_std * jax.random.normal(rngs.params(), projection.kernel.shape)
    self.out_proj = _linear(dim, dim, ("heads", "embed"), init_std, rngs)
    self.norm_ffn = nnx.LayerNorm(dim, epsilon=1e-5, rngs=rngs)
    self.fc1 = _linear(dim, ffn_dim, ("embed", "mlp"), init_std, rngs)
    self.fc2 = _linear(ffn_dim, dim, ("mlp", "embed"), init_std, rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.activation_dropout = nnx.Dropout(activation_dropout, rngs=rngs)

  def __call__(self, h: jax.Array, mask: jax.Array, bias: jax.Array) -> jax.Array:
    """h: [B, T, D], mask: [B, T] bool, bias: [B, H, T, T] -> [B, T, D]."""
    y = self.attention(self.norm_attn(h), mask=mask, bias=bias)  # [B, T, D]
    h = h + self.dropout(self.out_proj(y))
    y = self.activation_dropout(_gelu(self.fc1(self.norm_ffn(h))))  # [B, T, ffn_dim]
    return h + self.dropout(self.fc2(y))


class Graphormer(nnx.Module):
  """Graphormer for graph-level prediction: [B, out_dim] from the graph token.

  Reads from the batch: node_features [B, N, F] int ids < node_vocab, the edge
  list, spd [B, N, N], and (when edge_vocab > 0) edge_features [S, E, F] int
  ids < edge_vocab and path_edges [B, N, N, >= multi_hop_max_dist].
  edge_vocab = 0 builds the model without the edge encoding.
  Dropouts (official names): dropout after attention and FFN (--dropout),
  input_dropout on the input embeddings (v1.0 --intput_dropout_rate),
  attention_dropout on attention weights, activation_dropout after the GELU
  (--act-dropout). v1.0 ZINC: 0.1, 0.1, 0.1, 0 (the fairseq zinc.sh: 0, 0, 0.1, 0.1).
  """

  def __init__(
    self,
    *,
    hidden_dim: int,
    num_layers: int,
    num_heads: int,
    out_dim: int,
    node_vocab: int,
    edge_vocab: int = 0,
    ffn_dim: int | None = None,
    num_degrees: int = 64,
    num_spatial: int = 40,
    num_edge_distances: int = 40,
    multi_hop_max_dist: int = 20,
    directed_degrees: bool = False,
    dropout: float = 0.0,
    input_dropout: float = 0.0,
    attention_dropout: float = 0.0,
    activation_dropout: float = 0.0,
    rngs: nnx.Rngs,
  ):
    if node_vocab < 1:
      raise ConfigError(f"node_vocab={node_vocab} must be >= 1: Graphormer embeds integer node features.")
    if num_degrees < 2:
      raise ConfigError(f"num_degrees={num_degrees} must be >= 2 (row 0 pads, row 1 is degree 0).")
    if num_layers < 1:
      raise ConfigError(f"num_layers={num_layers} must be >= 1.")
    init_std = EMBED_INIT_STD / math.sqrt(num_layers)  # v1.0 init_params for nn.Linear
    self.num_degrees = num_degrees
    self.directed_degrees = directed_degrees
    self.node = _embedding(node_vocab, hidden_dim, "embed", rngs)
    self.in_degree = _embedding(num_degrees, hidden_dim, "embed", rngs)
    self.out_degree = _embedding(num_degrees, hidden_dim, "embed", rngs)
    self.graph_token = _param((hidden_dim,), ("embed",), rngs)
    self.attention_bias = GraphormerAttentionBias(
      num_heads,
      num_spatial=num_spatial,
      edge_vocab=edge_vocab,
      num_edge_distances=num_edge_distances,
      multi_hop_max_dist=multi_hop_max_dist,
      rngs=rngs,
    )
    self.input_dropout = nnx.Dropout(input_dropout, rngs=rngs)
    self.layers = nnx.List(
      GraphormerLayer(
        hidden_dim,
        ffn_dim or hidden_dim,
        num_heads,
        dropout=dropout,
        attention_dropout=attention_dropout,
        activation_dropout=activation_dropout,
        init_std=init_std,
        rngs=rngs,
      )
      for _ in range(num_layers)
    )
    self.final_norm = nnx.LayerNorm(hidden_dim, epsilon=1e-5, rngs=rngs)
    self.head = _linear(hidden_dim, out_dim, ("embed", "vocab"), init_std, rngs)

  def embed_nodes(self, graph: GraphBatch) -> jax.Array:
    """Centrality-encoded node inputs [B, N, D], zero on padded nodes (Eq. 5)."""
    x = self.node(_integer_ids(graph.node_features, "node_features")).sum(axis=-2)  # [B, N, D]
    ones = jnp.ones(graph.edge_mask.shape, jnp.int32)  # [S, E]
    leaving = graph.aggregate(ones, graph.senders)  # [B, N]
    entering = graph.aggregate(ones, graph.receivers) if self.directed_degrees else leaving
    x = x + self.in_degree(_clip_index(entering + 1, self.num_degrees))
    x = x + self.out_degree(_clip_index(leaving + 1, self.num_degrees))
    return jnp.where(graph.node_mask[..., None], x, 0.0)

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, out_dim]."""
    x = self.embed_nodes(graph)  # [B, N, D]
    token = jnp.broadcast_to(self.graph_token[...], (x.shape[0], 1, x.shape[-1]))  # [B, 1, D]
    h = self.input_dropout(jnp.concatenate([token, x], axis=1))  # [B, T, D]
    mask = jnp.concatenate([jnp.ones_like(graph.node_mask[:, :1]), graph.node_mask], axis=1)  # [B, T]
    bias = self.attention_bias(graph)  # [B, H, T, T]
    for layer in self.layers:
      h = layer(h, mask, bias)
    return self.head(self.final_norm(h[:, 0]))  # [B, out_dim]
