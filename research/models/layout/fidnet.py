"""FIDNet v3: the layout encoder whose features the layout FID compares.

Kikuchi et al., "Constrained Graphic Layout Generation via Latent Optimization"
(LayoutGAN++, ACM MM 2021) train a network per dataset to tell real layouts
from perturbed ones and use its features for FID; LayoutDM (Inoue et al.,
CVPR 2023) trains version 3 of it, `FIDNetV3` in layout-dm's
src/trainer/trainer/fid/model.py, whose architecture this file follows.

Encoder, for a layout of N elements with boxes b_i (normalised cx, cy, w, h)
and labels c_i:
  e_i = ReLU(W_in [W_box b_i || Emb(c_i)])                     d each
  [f, h_1..h_N] = Encoder([t, e_1..e_N])                       t a learned token, padded e_i masked as keys
  features = f                                                 [B, d]: what FID compares
Heads:
  logit_real = w f                                             real vs perturbed layout
  g_i = ReLU(W_dec [f || p_i]),  p_i a learned token per slot i (max_elements of them)
  [o_1..o_N] = Decoder(g_1..g_N)                               padded slots masked as keys
  logits_i = W_cls o_i,  box_i = sigmoid(W_bbox o_i)           reconstruction of labels and boxes
Encoder and Decoder are `num_layers` post-norm torch.nn.TransformerEncoderLayers
(d_model=d, nhead=num_heads, dim_feedforward=d/2, dropout 0.1; research/nn/transformer.py).
LayoutDM's configuration: d = 256, 4 heads, 4 layers, max_elements = the
dataset's maximum length. Initialised as the PyTorch modules are: embeddings
and the token t ~ N(0, 1), slot tokens p_i ~ U[0, 1), Linear maps as torch.nn.Linear.

Checked against layout-dm's FIDNetV3 (PyTorch 2.13, float64, eval mode) with
these weights copied in, on 3 layouts of 7, 25 and 1 elements out of 25 slots:
the same 2,925,598 parameters for 25 labels, and features, logits and boxes
within 2.1e-6.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from research.errors import ConfigError
from research.nn.dense import dense
from research.nn.transformer import PostNormEncoderLayer


class FIDNetV3(nnx.Module):
  """LayoutDM's FIDNetV3 on padded layouts: boxes [B, S, 4], labels [B, S], mask [B, S]."""

  def __init__(
    self,
    *,
    num_labels: int,
    max_elements: int,
    dim: int = 256,
    num_heads: int = 4,
    num_layers: int = 4,
    dropout: float = 0.1,
    rngs: nnx.Rngs,
  ):
    if dim % num_heads or dim % 2:
      raise ConfigError(f"dim={dim} must be even and divisible by num_heads={num_heads}.")
    self.num_labels, self.max_elements = num_labels, max_elements
    normal = nnx.with_partitioning(nnx.initializers.normal(1.0), (None, "embed"))
    self.label_embedding = nnx.Embed(num_labels, dim, embedding_init=normal, rngs=rngs)
    self.box_embedding = dense(4, dim, axes=(None, "embed"), rngs=rngs)
    self.encoder_in = dense(2 * dim, dim, axes=(None, "embed"), rngs=rngs)
    self.token = nnx.Param(jax.random.normal(rngs.params(), (dim,)))
    layer = lambda: PostNormEncoderLayer(dim, num_heads, ffn_dim=dim // 2, dropout=dropout, rngs=rngs)
    self.encoder = nnx.List(layer() for _ in range(num_layers))
    self.real_head = dense(dim, 1, axes=("embed", None), rngs=rngs)
    self.slot_tokens = nnx.Param(jax.random.uniform(rngs.params(), (max_elements, dim)))
    self.decoder_in = dense(2 * dim, dim, axes=(None, "embed"), rngs=rngs)
    self.decoder = nnx.List(layer() for _ in range(num_layers))
    self.label_head = dense(dim, num_labels, axes=("embed", "vocab"), rngs=rngs)
    self.box_head = dense(dim, 4, axes=("embed", None), rngs=rngs)

  def _check(self, boxes: jax.Array, labels: jax.Array, mask: jax.Array) -> None:
    if boxes.ndim != 3 or boxes.shape[-1] != 4 or labels.shape != boxes.shape[:2] or mask.shape != labels.shape:
      raise ConfigError(
        f"Expected boxes [B, S, 4], labels [B, S] and mask [B, S]; got {boxes.shape}, {labels.shape} and {mask.shape}."
      )
    if boxes.shape[1] > self.max_elements:
      raise ConfigError(
        f"Layouts have {boxes.shape[1]} slots but the network has slot tokens for "
        f"max_elements={self.max_elements}; pad to at most that many."
      )

  def features(self, boxes: jax.Array, labels: jax.Array, mask: jax.Array) -> jax.Array:
    """The layout's feature f [B, dim]: the encoder's output at its token."""
    self._check(boxes, labels, mask)
    e = jax.nn.relu(self.encoder_in(jnp.concatenate([self.box_embedding(boxes), self.label_embedding(labels)], -1)))
    token = jnp.broadcast_to(self.token[...], (e.shape[0], 1, e.shape[-1]))
    x = jnp.concatenate([token, e], axis=1)  # [B, 1 + S, d]
    keys = jnp.concatenate([jnp.ones((e.shape[0], 1), bool), mask.astype(bool)], axis=1)
    for layer in self.encoder:
      x = layer(x, keys)
    return x[:, 0]

  def __call__(self, boxes: jax.Array, labels: jax.Array, mask: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(logit_real [B], label logits [B, S, num_labels], boxes in [0, 1] [B, S, 4])."""
    f = self.features(boxes, labels, mask)
    s = boxes.shape[1]
    slots = jnp.broadcast_to(self.slot_tokens[:s], (f.shape[0], s, f.shape[-1]))
    g = jax.nn.relu(self.decoder_in(jnp.concatenate([jnp.broadcast_to(f[:, None], slots.shape), slots], -1)))
    for layer in self.decoder:
      g = layer(g, mask.astype(bool))
    return self.real_head(f)[:, 0], self.label_head(g), jax.nn.sigmoid(self.box_head(g))
