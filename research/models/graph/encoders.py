"""Input encoders of the Benchmarking GNNs family (GatedGCN, the Graph Transformer), and the node pooling
shared by every graph model's readout.

Input embedding follows Benchmarking GNNs (Dwivedi et al., JMLR 2023) and the
Graph Transformer (Dwivedi & Bresson, 2020, Sec. 3): node features and the
positional encoding are each embedded linearly and summed,
h_i^0 = A^0 x_i + a^0 + C^0 lambda_i + c^0 (`BenchmarkingNodeEncoder`; the
GraphGPS family's encoders, gps_encoders.py, concatenate instead). Featureless
graphs (`node_in_dim=0`, e.g. CSL) use the PE embedding alone, or, without a
PE, one learned vector shared by all nodes (the reference `nn.Embedding(1, hidden)`).
Laplacian eigenvectors have arbitrary signs, so in training each column of each
graph is multiplied by a random +-1 drawn from the "dropout" rng stream.

`pe="lap"` reads `graph.lap_eigvec` and `pe="lap_sym"` reads
`graph.lap_sym_eigvec`, for datasets whose records hold both Laplacians (the
SBM datasets store GraphGPS's combinatorial LapPE in the first and the Graph
Transformer's symmetric normalised one in the second); both take the first
`pe_dim` columns.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.graph.encodings import random_sign_flip
from research.nn.dense import dense

BENCHMARKING_PE_KINDS = ("none", "lap", "lap_sym", "rwse")
PE_FIELDS = {"lap": "lap_eigvec", "lap_sym": "lap_sym_eigvec", "rwse": "rwse"}  # GraphBatch field read by each PE
POOLINGS = ("mean", "sum", "max")  # over each graph's real nodes
READOUTS = POOLINGS + ("none",)  # the models' `readout` option: a pooling, or "none" for per-node outputs


def _mask_nodes(h: jax.Array, node_mask: jax.Array) -> jax.Array:
  """Zeroes padded rows: [B, N, D], [B, N] -> [B, N, D]."""
  return jnp.where(node_mask[..., None], h, 0.0)


class LinearPEEncoder(nnx.Module):
  """C^0 p_i + c^0: a Linear map of the first pe_dim channels of graph.<field> (Laplacian eigenvectors or RWSE).

  `sign_flip=True` (eigenvectors) multiplies each column of each graph by a random +-1 in training.
  """

  def __init__(self, pe_dim: int, hidden_dim: int, *, field: str, sign_flip: bool, rngs: nnx.Rngs):
    self.pe_dim = pe_dim
    self.field = field
    self.proj = dense(pe_dim, hidden_dim, axes=(None, "embed"), rngs=rngs)
    self.sign_flip = sign_flip
    self.deterministic = False  # model.eval() sets True: no sign flip
    self.rngs = rngs["dropout"].fork() if sign_flip else None

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, N, hidden]."""
    pe = _take_channels(getattr(graph, self.field), self.pe_dim, self.field)
    if self.sign_flip and not self.deterministic:
      pe = random_sign_flip(self.rngs(), pe)
    return self.proj(pe)


def _take_channels(x: jax.Array | None, dim: int, name: str) -> jax.Array:
  """The first `dim` channels of a node encoding, with a clear error when missing."""
  if x is None:
    raise ConfigError(f"The model was built with a PE that reads graph.{name}, but the batch has none.")
  if x.shape[-1] < dim:
    raise ConfigError(f"graph.{name} has {x.shape[-1]} channels but the model was built with pe_dim={dim}.")
  return x[..., :dim]


def _normal_init(rngs: nnx.Rngs, dim: int) -> jax.Array:
  """N(0, 1) values on the "embed" axis, like a PyTorch nn.Embedding row."""
  init = nnx.with_partitioning(nnx.initializers.normal(1.0), ("embed",))
  return init(rngs.params(), (dim,))


class BenchmarkingNodeEncoder(nnx.Module):
  """h^0 = embed(x) + embed_pe(pe) on real nodes, zero on padding."""

  def __init__(self, node_in_dim: int, hidden_dim: int, *, pe: str, pe_dim: int, rngs: nnx.Rngs):
    if pe not in BENCHMARKING_PE_KINDS:
      raise ConfigError(f"Unknown pe={pe!r}; expected one of {BENCHMARKING_PE_KINDS}.")
    if pe != "none" and pe_dim <= 0:
      raise ConfigError(f"pe={pe!r} needs pe_dim > 0 (the number of PE channels); got {pe_dim}.")
    self.feature = dense(node_in_dim, hidden_dim, axes=(None, "embed"), rngs=rngs) if node_in_dim > 0 else None
    self.constant = nnx.Param(_normal_init(rngs, hidden_dim)) if node_in_dim == 0 and pe == "none" else None
    self.pe_encoder = (
      LinearPEEncoder(pe_dim, hidden_dim, field=PE_FIELDS[pe], sign_flip=pe != "rwse", rngs=rngs)
      if pe != "none"
      else None
    )

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, N, hidden]."""
    mask = graph.node_mask
    h = 0.0
    if self.feature is not None:
      h = self.feature(graph.node_features)
    if self.constant is not None:
      h = jnp.broadcast_to(self.constant[...], mask.shape + self.constant.shape)
    if self.pe_encoder is not None:
      h = h + self.pe_encoder(graph)
    return _mask_nodes(h, mask)


class BenchmarkingEdgeEncoder(nnx.Module):
  """e^0 = embed(edge features); featureless edges (`edge_in_dim=0`) embed a constant 1.

  (Linear(1, hidden) of 1, the reference `edge_feat=False`; GraphGPS's DummyEdge is gps_encoders.GPSEdgeEncoder.)
  """

  def __init__(self, edge_in_dim: int, hidden_dim: int, *, rngs: nnx.Rngs):
    self.edge_in_dim = edge_in_dim
    self.proj = dense(max(edge_in_dim, 1), hidden_dim, axes=(None, "embed"), rngs=rngs)

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [S, E, hidden], zero on padded edges."""
    if self.edge_in_dim > 0:
      e = graph.edge_features
    else:
      e = jnp.ones(graph.edge_mask.shape + (1,), jnp.float32)
    return jnp.where(graph.edge_mask[..., None], self.proj(e), 0.0)


def pool_nodes(h: jax.Array, node_mask: jax.Array, kind: str) -> jax.Array:
  """Pools real nodes per graph: [B, N, D] -> [B, D] ("none": [B, N, D], padding zeroed).

  Graphs with no real node (batch padding) pool to zero.
  """
  mask = node_mask[..., None]
  if kind == "none":
    return _mask_nodes(h, node_mask)
  if kind == "sum":
    return jnp.sum(jnp.where(mask, h, 0.0), axis=1)
  count = jnp.sum(mask, axis=1)  # [B, 1]
  if kind == "mean":
    return jnp.sum(jnp.where(mask, h, 0.0), axis=1) / jnp.maximum(count, 1)
  if kind == "max":
    lowest = jnp.finfo(h.dtype).min
    return jnp.where(count > 0, jnp.max(jnp.where(mask, h, lowest), axis=1), 0.0)
  raise ConfigError(f"Unknown readout={kind!r}; expected one of {READOUTS}.")
