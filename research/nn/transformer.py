"""The post-norm Transformer encoder layer of torch.nn.TransformerEncoderLayer, for ported models.

Vaswani et al., "Attention Is All You Need" (NeurIPS 2017), in PyTorch's
default form (`norm_first=False`, ReLU), which SAN's learned LPE, GraphGPS's
LapPE Transformer and LayoutGAN++/LayoutDM's FIDNet build on:

  x = LayerNorm(x + Dropout(O MHA(x)))                     (attention weights dropped too)
  x = LayerNorm(x + Dropout(W_2 Dropout(ReLU(W_1 x))))     (W_1: dim -> ffn_dim)

Initialised as PyTorch initialises it: xavier-uniform in-projection with zero
biases (torch.nn.MultiheadAttention), zero output-projection bias, PyTorch's
Linear default for the FFN. LayerNorm eps is 1e-5 in both.
"""

from __future__ import annotations

import jax
from flax import nnx

from research.nn.attention import MultiHeadAttention
from research.nn.dense import dense
from research.nn.mlp import MLP
from research.nn.norm import Norm


class PostNormEncoderLayer(nnx.Module):
  """torch.nn.TransformerEncoderLayer(dim, num_heads, ffn_dim, dropout) on [T, S, dim] with a key mask [T, S]."""

  def __init__(self, dim: int, num_heads: int, *, ffn_dim: int, dropout: float, rngs: nnx.Rngs):
    self.attention = MultiHeadAttention(dim, num_heads, weights_dropout=dropout, torch_mha_init=True, rngs=rngs)
    self.out_proj = dense(dim, dim, axes=("heads", "embed"), zero_bias=True, rngs=rngs)
    self.norm1 = Norm(dim, batch_norm=False, layer_norm=True, rngs=rngs)
    self.ffn = MLP(dim, [ffn_dim], dim, dropout=dropout, rngs=rngs)
    self.norm2 = Norm(dim, batch_norm=False, layer_norm=True, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, rngs=rngs)

  def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:
    """x: [T, S, dim], mask: [T, S] (False: padding, never a key) -> [T, S, dim]."""
    x = self.norm1(x + self.dropout(self.out_proj(self.attention(x, mask=mask))), mask)
    return self.norm2(x + self.dropout(self.ffn(x)), mask)
