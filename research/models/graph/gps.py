"""GraphGPS: a general, powerful, scalable graph transformer.

Rampášek, Galkin, Dwivedi, Luu, Wolf & Beaini, "Recipe for a General, Powerful,
Scalable Graph Transformer" (NeurIPS 2022), Sec. 3.2 and Eq. (1)-(4), following
the official `graphgps/layer/gps_layer.py` and `graphgps/network/gps_model.py`.

One GPS layer on node states X^l [B, N, D] and edge states E^l [S, E, D] (edges in packs, see research/graph/batch.py):
  X_M^{l+1}, E^{l+1} = MPNN^l(X^l, E^l, A)                       (Eq. 2, local)
      X_M = Norm(X^l + Dropout(MPNN(X^l)))     (GatedGCN: its own residual)
  X_T^{l+1} = GlobalAttn^l(X^l)                                  (Eq. 3, global)
      X_T = Norm(X^l + Dropout(O MHA(X^l)))    (attention weights dropped with attn_dropout)
      X_T = Norm(X^l + Dropout(Performer(X^l)))  (its output dropped with attn_dropout)
  X^{l+1} = MLP^l(X_M^{l+1} + X_T^{l+1})                         (Eq. 4)
      X = Norm(X + Dropout(W_2 Dropout(ReLU(W_1 X))))   (FFN width 2D)
Norm is BatchNorm (masked to real nodes) or LayerNorm. Global attention is
full multi-head softmax attention over the real nodes of each graph (the
"Transformer" of the paper), through research.nn's shared attention with a
key mask; "performer" is the paper's linear-time alternative, FAVOR+
(research/nn/performer.py) configured as GraphGPS builds it
(`performer_pytorch.SelfAttention(dim, heads, dropout=attn_dropout)`: 64-dim
heads whatever dim / heads is, 266 fixed random features, output projection
inside); "none" gives the MPNN-only ablation. Local MPNNs: GatedGCN
(Bresson & Laurent) or GINE (Hu et al.); "none" gives the Transformer-only
ablation.

Network: GPSNodeEncoder/GPSEdgeEncoder (gps_encoders.py), L GPS layers, then
a node head (GraphGym MLP, "inductive_node") or a graph head (sum/mean pooling
and a halving MLP, GraphGPS's "san_graph").
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.models.graph.gated_gcn import GatedGCNLayer
from research.models.graph.gine import GINEConv
from research.models.graph.gps_encoders import GPSEdgeEncoder, GPSNodeEncoder
from research.models.graph.heads import GraphGPSHead
from research.nn.attention import MultiHeadAttention
from research.nn.dense import dense
from research.nn.mlp import MLP
from research.nn.norm import Norm
from research.nn.performer import PerformerSelfAttention

LOCAL_MODELS = ("gated_gcn", "gine", "none")
GLOBAL_MODELS = ("transformer", "performer", "none")


class GPSLayer(nnx.Module):
  """One GPS layer: local MPNN and global attention side by side, summed, then an FFN."""

  def __init__(
    self,
    dim: int,
    *,
    local_model: str,
    global_model: str,
    num_heads: int,
    dropout: float,
    attn_dropout: float,
    batch_norm: bool,
    layer_norm: bool,
    rngs: nnx.Rngs,
  ):
    if local_model not in LOCAL_MODELS:
      raise ConfigError(f"Unknown local_model={local_model!r}; expected one of {LOCAL_MODELS}.")
    if global_model not in GLOBAL_MODELS:
      raise ConfigError(f"Unknown global_model={global_model!r}; expected one of {GLOBAL_MODELS}.")
    if batch_norm and layer_norm:
      raise ConfigError("GPS applies one normalisation: set batch_norm or layer_norm, not both.")
    if local_model == global_model == "none":
      raise ConfigError("A GPS layer needs a local model, a global model, or both; both are 'none'.")
    norm = lambda: Norm(dim, batch_norm=batch_norm, layer_norm=layer_norm, rngs=rngs)
    self.local_model = local_model
    if local_model == "gated_gcn":
      self.local = GatedGCNLayer(
        dim, dropout=dropout, batch_norm=True, residual=True, dropout_before_residual=True, rngs=rngs
      )
    elif local_model == "gine":
      self.local = GINEConv(dim, rngs=rngs)
    self.norm_local = norm() if local_model != "none" else None
    if global_model == "transformer":
      # torch.nn.MultiheadAttention, including its initialisation (zero out_proj bias).
      self.attention = MultiHeadAttention(dim, num_heads, weights_dropout=attn_dropout, torch_mha_init=True, rngs=rngs)
      self.out_proj = dense(dim, dim, axes=("heads", "embed"), zero_bias=True, rngs=rngs)
      self.norm_attn = norm()
    elif global_model == "performer":
      self.attention = PerformerSelfAttention(dim, num_heads, dropout=attn_dropout, rngs=rngs)
      self.out_proj = None  # the Performer ends with its own output projection
      self.norm_attn = norm()
    else:
      self.attention = None
    self.ffn = MLP(dim, [2 * dim], dim, dropout=dropout, rngs=rngs)
    self.norm_ffn = norm()
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, h: jax.Array, e: jax.Array, graph: GraphBatch) -> tuple[jax.Array, jax.Array]:
    """h: [B, N, D], e: [S, E, D] -> (h, e), zero on padding."""
    mask = graph.node_mask
    branches = []
    if self.local_model == "gated_gcn":
      h_local, e = self.local(h, e, graph)  # residual and dropout inside (GraphGPS order)
      branches.append(self.norm_local(h_local, mask))
    elif self.local_model == "gine":
      h_local = h + self.dropout(self.local(h, e, graph))
      branches.append(self.norm_local(h_local, mask))
    if self.attention is not None:
      h_attn = self.attention(h, mask=mask)
      if self.out_proj is not None:
        h_attn = self.out_proj(h_attn)  # [B, N, D]
      h_attn = h + self.dropout(h_attn)
      branches.append(self.norm_attn(h_attn, mask))
    h = sum(branches)
    h = self.norm_ffn(h + self.dropout(self.ffn(h)), mask)
    return jnp.where(mask[..., None], h, 0.0), e


class GPS(nnx.Module):
  """GraphGPS network: encoders, `num_layers` GPS layers, node or graph head.

  Node heads return [B, N, out_dim] (zero on padded nodes), graph heads [B, out_dim].
  For binary node classification GraphGym uses out_dim = 1 (one logit).
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
    global_model: str = "transformer",
    pe: str = "none",
    pe_dim: int = 0,
    pe_channels: int = 0,
    pe_layers: int = 2,
    pe_heads: int = 4,
    dropout: float = 0.0,
    attn_dropout: float = 0.0,
    batch_norm: bool = True,
    layer_norm: bool = False,
    head: str = "node",
    head_layers: int = 3,
    graph_pooling: str = "mean",
    rngs: nnx.Rngs,
  ):
    self.node_encoder = GPSNodeEncoder(
      hidden_dim,
      node_in_dim=node_in_dim,
      node_vocab=node_vocab,
      pe=pe,
      pe_dim=pe_dim,
      pe_channels=pe_channels,
      pe_layers=pe_layers,
      pe_heads=pe_heads,
      rngs=rngs,
    )
    self.edge_encoder = GPSEdgeEncoder(hidden_dim, edge_in_dim=edge_in_dim, edge_vocab=edge_vocab, rngs=rngs)
    self.layers = nnx.List(
      GPSLayer(
        hidden_dim,
        local_model=local_model,
        global_model=global_model,
        num_heads=num_heads,
        dropout=dropout,
        attn_dropout=attn_dropout,
        batch_norm=batch_norm,
        layer_norm=layer_norm,
        rngs=rngs,
      )
      for _ in range(num_layers)
    )
    self.head = GraphGPSHead(hidden_dim, out_dim, kind=head, num_layers=head_layers, pooling=graph_pooling, rngs=rngs)

  def __call__(self, graph: GraphBatch) -> jax.Array:
    h = self.node_encoder(graph)  # [B, N, D]
    e = self.edge_encoder(graph)  # [S, E, D]
    for layer in self.layers:
      h, e = layer(h, e, graph)
    return self.head(h, graph.node_mask)  # [B, N, out] or [B, out]
