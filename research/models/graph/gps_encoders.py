"""Input encoders of the GraphGPS family (GraphGPS, and the GRIT and Exphormer forks of its code).

Rampášek et al., "Recipe for a General, Powerful, Scalable Graph Transformer"
(NeurIPS 2022), Sec. 3.1 and App. B. A node's input embedding is the
concatenation of its feature embedding and a positional/structural encoding:

  h_i^0 = [ embed(x_i) (hidden - pe_dim)  ||  PE_i (pe_dim) ]

- Features: a Linear map of float features, or a learned table of integer
  category ids (GraphGPS's "TypeDict" encoders, e.g. ZINC atom and bond types).
- LapPE through a DeepSet (`LapPEDeepSet`): each frequency j of node i gives a
  token (u_j[i], lambda_j); a shared MLP phi embeds every token and the tokens
  are summed: PE_i = sum_j phi(u_j[i], lambda_j).
- LapPE through a Transformer (`LearnedLPE`, "posenc_LapPE.model: Transformer",
  SAN's learned LPE): the same tokens, embedded by Linear(2, pe_dim), pass
  through `pe_layers` post-norm Transformer encoder layers over the frequency
  axis (torch.nn.TransformerEncoderLayer with its defaults: `pe_heads` heads,
  FFN width 2048, dropout 0.1), missing frequencies key-masked, then summed.
- RWSE through a linear "kernel" encoder (`RWSELinear`): BatchNorm over the
  raw random-walk probabilities, then a Linear map to pe_dim.
Edges without features ("DummyEdge") share one learned vector.
The Benchmarking GNNs family's encoders, which sum the embeddings, are in encoders.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.graph.batch import GraphBatch
from research.graph.encodings import random_sign_flip
from research.nn.dense import dense
from research.nn.norm import Norm
from research.nn.transformer import PostNormEncoderLayer

GPS_PE_KINDS = ("none", "lap_deepset", "lap_transformer", "rwse")
LPE_EIGENPAIRS = ("lap", "lap_sym")  # graph.<name>_eigvec / <name>_eigval
ROW_NORM_EPS = 1e-12  # SAN's `F.normalize(EigVecs, p=2, dim=1, eps=1e-12)`


class FeatureEmbedding(nnx.Module):
  """Float features [..., F] through a Linear map, or integer category ids [..., 1] through a table.

  Ids must lie in [0, vocab_size): an id outside embeds as NaN, which the
  trainer's non-finite check then reports.
  """

  def __init__(self, in_dim: int, out_dim: int, *, vocab_size: int = 0, rngs: nnx.Rngs):
    if vocab_size < 0 or (vocab_size == 0 and in_dim <= 0):
      raise ConfigError(
        f"A feature embedding needs float features (in_dim > 0, got {in_dim}) or category ids "
        f"(vocab_size > 0, got {vocab_size})."
      )
    self.vocab_size = vocab_size
    if vocab_size:
      init = nnx.with_partitioning(nnx.initializers.normal(1.0), (None, "embed"))  # as torch nn.Embedding
      self.table = nnx.Embed(vocab_size, out_dim, embedding_init=init, rngs=rngs)
    else:
      self.linear = dense(in_dim, out_dim, axes=(None, "embed"), rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    """[..., F] -> [..., out_dim]."""
    if not self.vocab_size:
      return self.linear(x.astype(jnp.float32))
    if x.shape[-1] != 1 or not jnp.issubdtype(x.dtype, jnp.integer):
      raise ConfigError(
        f"A categorical feature embedding (vocab_size={self.vocab_size}) reads one integer id per entry; "
        f"got features of shape {x.shape} and dtype {x.dtype}."
      )
    return self.table(x[..., 0])


def frequency_mask(node_mask: jax.Array, num_frequencies: int, skip_trivial: bool = False) -> jax.Array:
  """Which of the K stored eigenpairs exist per graph: [B, N] -> [B, K] bool.

  A graph of n nodes has n eigenpairs; `encodings.laplacian_pe` zero-fills the
  rest (GraphGPS fills them with NaN and masks NaNs).
  """
  num_nodes = jnp.sum(node_mask, axis=1, keepdims=True)  # [B, 1]
  return jnp.arange(num_frequencies)[None, :] < num_nodes - int(skip_trivial)


class LapPEDeepSet(nnx.Module):
  """GraphGPS's LapPE encoder with its DeepSet model ("posenc_LapPE.model: DeepSet").

  phi = Linear(2, 2p) -> ReLU -> [Linear(2p, 2p) -> ReLU] x (layers - 2) -> Linear(2p, p) -> ReLU
  (one layer: Linear(2, p) -> ReLU); PE_i = sum over existing frequencies j of phi(u_j[i], lambda_j).
  In training each eigenvector's sign is flipped at random, per graph.
  """

  def __init__(self, num_frequencies: int, pe_dim: int, *, layers: int = 2, rngs: nnx.Rngs):
    if layers < 1:
      raise ConfigError(f"LapPE DeepSet needs layers >= 1; got {layers}.")
    self.num_frequencies = num_frequencies
    width = pe_dim if layers == 1 else 2 * pe_dim
    dims = [2, *([width] * (layers - 1)), pe_dim]
    self.phi = nnx.List(dense(a, b, axes=(None, None), rngs=rngs) for a, b in zip(dims[:-1], dims[1:]))
    self.deterministic = False  # model.eval() sets True: no sign flip
    self.rngs = rngs["dropout"].fork()

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, N, pe_dim]."""
    k = self.num_frequencies
    if graph.lap_eigvec is None or graph.lap_eigvec.shape[-1] < k:
      raise ConfigError(
        f"LapPE reads {k} eigenvectors from graph.lap_eigvec; the batch has "
        f"{None if graph.lap_eigvec is None else graph.lap_eigvec.shape[-1]}."
      )
    eigvec, eigval = graph.lap_eigvec[..., :k], graph.lap_eigval[..., :k]  # [B, N, K], [B, K]
    if not self.deterministic:
      eigvec = random_sign_flip(self.rngs(), eigvec)
    tokens = jnp.stack([eigvec, jnp.broadcast_to(eigval[:, None, :], eigvec.shape)], axis=-1)  # [B, N, K, 2]
    for layer in self.phi:
      tokens = jax.nn.relu(layer(tokens))  # [B, N, K, width] ... [B, N, K, p]
    exists = frequency_mask(graph.node_mask, k)[:, None, :, None]  # [B, 1, K, 1]
    return jnp.sum(jnp.where(exists, tokens, 0.0), axis=2)  # [B, N, p]


class LearnedLPE(nnx.Module):
  """SAN's learned LPE, GraphGPS's LapPE "Transformer": a Transformer over each node's
  m (eigenvector entry, eigenvalue) tokens, sum-pooled over the frequencies the graph has.

  Reads graph.<eigenpairs>_eigvec [B, N, >= m] and <eigenpairs>_eigval
  [B, >= m] (eigenpairs "lap" or "lap_sym") laid out as
  `encodings.laplacian_pe(..., skip_trivial=False)` writes them: frequency j of
  a graph exists iff j < num_nodes. `normalize_rows` scales each node's row of
  eigenvector entries to unit norm first (SAN); GraphGPS reads the entries as
  stored and flips their signs at random in training (`sign_flip=True`).
  """

  def __init__(
    self,
    num_frequencies: int,
    dim: int,
    *,
    num_layers: int,
    num_heads: int,
    ffn_dim: int = 2048,
    dropout: float = 0.1,
    sign_flip: bool = False,
    eigenpairs: str = "lap",
    normalize_rows: bool = False,
    rngs: nnx.Rngs,
  ):
    if eigenpairs not in LPE_EIGENPAIRS:
      raise ConfigError(
        f"lpe_eigenpairs={eigenpairs!r} names no eigenpair fields of the batch; use one of "
        f"{LPE_EIGENPAIRS} (graph.<name>_eigvec / <name>_eigval)."
      )
    if num_frequencies < 1:
      raise ConfigError(f"The learned LPE needs >= 1 eigenpairs (frequencies); got {num_frequencies}.")
    if num_layers < 1:
      raise ConfigError(f"The learned LPE needs >= 1 Transformer layers; got {num_layers}.")
    if dim % num_heads:
      raise ConfigError(
        f"The learned LPE's width {dim} is not divisible by its {num_heads} heads "
        "(GPS: pe_dim / pe_heads; SAN: lpe_dim / lpe_heads)."
      )
    self.num_frequencies = num_frequencies
    self.eigenpairs = eigenpairs
    self.normalize_rows = normalize_rows
    self.linear_A = dense(2, dim, axes=(None, "embed"), rngs=rngs)
    self.layers = nnx.List(
      PostNormEncoderLayer(dim, num_heads, ffn_dim=ffn_dim, dropout=dropout, rngs=rngs) for _ in range(num_layers)
    )
    self.sign_flip = sign_flip
    self.deterministic = False  # model.eval() sets True: no sign flip
    self.rngs = rngs["dropout"].fork() if sign_flip else None

  def tokens(self, graph: GraphBatch) -> tuple[jax.Array, jax.Array]:
    """Raw tokens (u_j[i], lambda_j) [B, N, m, 2] and which exist [B, N, m] bool."""
    m = self.num_frequencies
    vectors, values = (getattr(graph, f"{self.eigenpairs}_{kind}") for kind in ("eigvec", "eigval"))
    for kind, x in (("eigvec", vectors), ("eigval", values)):
      if x is None or x.shape[-1] < m:
        raise ConfigError(
          f"The learned LPE reads {m} eigenpairs from graph.{self.eigenpairs}_{kind}; "
          f"the batch has {None if x is None else x.shape[-1]}."
        )
    exists = frequency_mask(graph.node_mask, m)[:, None, :] & graph.node_mask[:, :, None]  # [B, N, m]
    eigvec = jnp.where(exists, vectors[..., :m].astype(jnp.float32), 0.0)  # [B, N, m]
    if self.normalize_rows:
      norm = jnp.sqrt(jnp.sum(eigvec**2, axis=-1, keepdims=True))  # [B, N, 1]
      eigvec = eigvec / jnp.maximum(norm, ROW_NORM_EPS)
    if self.sign_flip and not self.deterministic:
      eigvec = random_sign_flip(self.rngs(), eigvec)
    eigval = jnp.where(exists, values[:, None, :m].astype(jnp.float32), 0.0)  # [B, N, m]
    return jnp.stack([eigvec, eigval], axis=-1), exists

  def encode(self, tokens: jax.Array, exists: jax.Array) -> jax.Array:
    """Tokens [..., m, 2] and mask [..., m] -> per-node sums over existing frequencies [..., k]."""
    lead = tokens.shape[:-2]
    x = self.linear_A(tokens)
    x = x.reshape((-1,) + x.shape[-2:])  # [T, m, k]
    mask = exists.reshape(x.shape[:2])  # [T, m]
    for layer in self.layers:
      x = layer(x, mask)
    pooled = jnp.sum(jnp.where(mask[..., None], x, 0.0), axis=1)  # [T, k]
    return pooled.reshape(lead + pooled.shape[-1:])

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, N, k], zero on padded nodes."""
    return self.encode(*self.tokens(graph))


class RWSELinear(nnx.Module):
  """GraphGPS's RWSE "kernel" encoder: BatchNorm over the K raw probabilities, then Linear(K, p)."""

  def __init__(self, num_steps: int, pe_dim: int, *, raw_batch_norm: bool = True, rngs: nnx.Rngs):
    self.num_steps = num_steps
    self.raw_norm = Norm(num_steps, batch_norm=True, rngs=rngs) if raw_batch_norm else None
    self.linear = dense(num_steps, pe_dim, axes=(None, None), rngs=rngs)

  def __call__(self, graph: GraphBatch) -> jax.Array:
    """-> [B, N, pe_dim]."""
    if graph.rwse is None or graph.rwse.shape[-1] < self.num_steps:
      raise ConfigError(
        f"RWSE reads {self.num_steps} walk lengths from graph.rwse; the batch has "
        f"{None if graph.rwse is None else graph.rwse.shape[-1]}."
      )
    x = graph.rwse[..., : self.num_steps]
    if self.raw_norm is not None:
      x = self.raw_norm(x, graph.node_mask)
    return self.linear(x)


class GPSNodeEncoder(nnx.Module):
  """h^0 = [embed(x) || PE]: [B, N, hidden], zero on padded nodes."""

  def __init__(
    self,
    hidden_dim: int,
    *,
    node_in_dim: int,
    node_vocab: int = 0,
    pe: str = "none",
    pe_dim: int = 0,
    pe_channels: int = 0,
    pe_layers: int = 2,
    pe_heads: int = 4,
    rngs: nnx.Rngs,
  ):
    if pe not in GPS_PE_KINDS:
      raise ConfigError(f"Unknown pe={pe!r}; expected one of {GPS_PE_KINDS}.")
    if pe != "none" and not 0 < pe_dim < hidden_dim:
      raise ConfigError(f"pe={pe!r} needs 0 < pe_dim < hidden_dim={hidden_dim}; got pe_dim={pe_dim}.")
    if pe != "none" and pe_channels <= 0:
      raise ConfigError(f"pe={pe!r} needs pe_channels > 0 (eigenvectors or walk lengths read); got {pe_channels}.")
    feature_dim = hidden_dim - (pe_dim if pe != "none" else 0)
    self.features = FeatureEmbedding(node_in_dim, feature_dim, vocab_size=node_vocab, rngs=rngs)
    if pe == "lap_deepset":
      self.pe = LapPEDeepSet(pe_channels, pe_dim, layers=pe_layers, rngs=rngs)
    elif pe == "lap_transformer":  # torch.nn.TransformerEncoderLayer defaults: FFN 2048, dropout 0.1
      self.pe = LearnedLPE(pe_channels, pe_dim, num_layers=pe_layers, num_heads=pe_heads, sign_flip=True, rngs=rngs)
    elif pe == "rwse":
      self.pe = RWSELinear(pe_channels, pe_dim, rngs=rngs)
    else:
      self.pe = None

  def __call__(self, graph: GraphBatch) -> jax.Array:
    h = self.features(graph.node_features)
    if self.pe is not None:
      h = jnp.concatenate([h, self.pe(graph)], axis=-1)
    return jnp.where(graph.node_mask[..., None], h, 0.0)


class GPSEdgeEncoder(nnx.Module):
  """Edge embedding [S, E, hidden]: features, category ids, or ("DummyEdge") one shared learned vector."""

  def __init__(self, hidden_dim: int, *, edge_in_dim: int = 0, edge_vocab: int = 0, rngs: nnx.Rngs):
    featureless = edge_in_dim == 0 and edge_vocab == 0
    # DummyEdge is an nn.Embedding(1, hidden): a table with a single row.
    self.embed = FeatureEmbedding(edge_in_dim, hidden_dim, vocab_size=1 if featureless else edge_vocab, rngs=rngs)
    self.featureless = featureless

  def __call__(self, graph: GraphBatch) -> jax.Array:
    if self.featureless:
      e = self.embed(jnp.zeros(graph.edge_mask.shape + (1,), jnp.int32))
    else:
      e = self.embed(graph.edge_features)
    return jnp.where(graph.edge_mask[..., None], e, 0.0)
