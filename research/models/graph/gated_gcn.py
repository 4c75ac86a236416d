"""Residual Gated Graph ConvNet (GatedGCN).

Bresson & Laurent, "Residual Gated Graph ConvNets" (2017), in the form used by
Dwivedi et al., "Benchmarking Graph Neural Networks" (JMLR 2023): reference
`layers/gated_gcn_layer.py` and `nets/CSL_graph_classification/gated_gcn_net.py`.

One layer, for an edge j -> i (j = sender, i = receiver, messages summed at i):
  e_hat_ij = C e_ij + D h_j + E h_i              (edge gate input)
  sigma_ij = sigmoid(e_hat_ij)                   (gates)
  h_hat_i  = A h_i + sum_j sigma_ij * B h_j / (sum_j sigma_ij + 1e-6)
  h_i' = dropout(h_i + ReLU(BN(h_hat_i)))        (residual)
  e_ij' = dropout(e_ij + ReLU(BN(e_hat_ij)))
GraphGPS's `GatedGCNLayer` drops out before the residual sum instead,
h_i' = h_i + dropout(ReLU(BN(h_hat_i))) (`dropout_before_residual=True`).
A `gate_scale` r_ij passed to the layer multiplies the gates, sigma_ij * r_ij
(Exphormer's EquivStableLapPE gate, exphormer.py); by default r_ij = 1.
The papers write D h_i + E h_j. Benchmarking GNNs' DGL code applies D to the
edge's source and E to its destination, which is what is done here; GraphGPS's
PyG code applies D to the destination. The two are the same family up to
renaming D and E (weights ported from GraphGPS swap them).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.models.graph.encoders import READOUTS, BenchmarkingEdgeEncoder, BenchmarkingNodeEncoder, pool_nodes
from research.nn.dense import dense
from research.nn.mlp import MLPReadout
from research.nn.norm import Norm

GATE_EPS = 1e-6


class GatedGCNLayer(nnx.Module):
  """One residual gated graph convolution on node and edge states of width `dim`."""

  def __init__(
    self,
    dim: int,
    *,
    dropout: float,
    batch_norm: bool,
    layer_norm: bool = False,
    residual: bool,
    dropout_before_residual: bool = False,
    rngs: nnx.Rngs,
  ):
    linear = lambda: dense(dim, dim, axes=("embed", "mlp"), rngs=rngs)
    self.A, self.B, self.C, self.D, self.E = linear(), linear(), linear(), linear(), linear()
    self.norm_h = Norm(dim, batch_norm=batch_norm, layer_norm=layer_norm, rngs=rngs)
    self.norm_e = Norm(dim, batch_norm=batch_norm, layer_norm=layer_norm, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)
    self.residual = residual
    self.dropout_before_residual = dropout_before_residual

  def __call__(
    self, h: jax.Array, e: jax.Array, graph: GraphBatch, gate_scale: jax.Array | None = None
  ) -> tuple[jax.Array, jax.Array]:
    """h: [B, N, D], e: [S, E, D], gate_scale: r_ij [S, E, 1] or [S, E, D] -> updated (h, e), zero on padding."""
    senders, receivers, edge_mask = graph.senders, graph.receivers, graph.edge_mask
    Ah, Bh, Dh, Eh = self.A(h), self.B(h), self.D(h), self.E(h)  # [B, N, D]
    e_hat = self.C(e) + graph.gather(Dh, senders) + graph.gather(Eh, receivers)  # [S, E, D]
    sigma = jax.nn.sigmoid(e_hat)  # [S, E, D]
    if gate_scale is not None:
      sigma = sigma * gate_scale
    num = graph.aggregate(sigma * graph.gather(Bh, senders), receivers)  # [B, N, D]
    den = graph.aggregate(sigma, receivers)  # [B, N, D]
    h_hat = Ah + num / (den + GATE_EPS)
    h_new = jax.nn.relu(self.norm_h(h_hat, graph.node_mask))
    e_new = jax.nn.relu(self.norm_e(e_hat, edge_mask))
    if self.dropout_before_residual:
      h_new, e_new = self.dropout(h_new), self.dropout(e_new)
    if self.residual:
      h_new, e_new = h + h_new, e + e_new
    if not self.dropout_before_residual:
      h_new, e_new = self.dropout(h_new), self.dropout(e_new)
    h_new = jnp.where(graph.node_mask[..., None], h_new, 0.0)
    e_new = jnp.where(edge_mask[..., None], e_new, 0.0)
    return h_new, e_new


class GatedGCN(nnx.Module):
  """GatedGCN network: input embedding, L GatedGCN layers, readout, MLPReadout.

  As the reference CSL net, but every layer keeps width `hidden_dim` (the CSL
  configs set the reference `out_dim` equal to `hidden_dim`) and `out_dim` is
  the number of outputs (classes). `edge_in_dim=0` embeds a constant 1 per edge
  (reference `edge_feat=False`); `node_in_dim=0` marks featureless nodes (see
  encoders.BenchmarkingNodeEncoder).
  """

  def __init__(
    self,
    *,
    hidden_dim: int,
    num_layers: int,
    out_dim: int,
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
    if readout not in READOUTS:
      raise ConfigError(f"Unknown readout={readout!r}; expected one of {READOUTS}.")
    self.node_encoder = BenchmarkingNodeEncoder(node_in_dim, hidden_dim, pe=pe, pe_dim=pe_dim, rngs=rngs)
    self.edge_encoder = BenchmarkingEdgeEncoder(edge_in_dim, hidden_dim, rngs=rngs)
    self.in_feat_dropout = nnx.Dropout(in_feat_dropout, rngs=rngs)
    self.layers = nnx.List(
      GatedGCNLayer(
        hidden_dim, dropout=dropout, batch_norm=batch_norm, layer_norm=layer_norm, residual=residual, rngs=rngs
      )
      for _ in range(num_layers)
    )
    self.head = MLPReadout(hidden_dim, out_dim, rngs=rngs)
    self.readout = readout

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, out_dim], or [B, N, out_dim] (zero on padding) when readout="none"."""
    h = self.in_feat_dropout(self.node_encoder(graph))  # [B, N, D]
    e = self.edge_encoder(graph)  # [S, E, D]
    for layer in self.layers:
      h, e = layer(h, e, graph)
    out = self.head(pool_nodes(h, graph.node_mask, self.readout))
    if self.readout == "none":
      out = jnp.where(graph.node_mask[..., None], out, 0.0)
    return out
