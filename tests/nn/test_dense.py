"""Linear layers start from PyTorch's default initialisation."""

import math

import numpy as np
from flax import nnx

from research.nn.attention import MultiHeadAttention
from research.nn.dense import dense

nnx.use_eager_sharding(False)  # partitioned params outside a mesh


def test_dense_matches_torch_linear_init():
  layer = dense(400, 300, rngs=nnx.Rngs(0))
  kernel, bias = np.asarray(layer.kernel[...]), np.asarray(layer.bias[...])
  bound = 1 / math.sqrt(400)  # kaiming_uniform(a=sqrt(5)) and the bias rule of torch.nn.Linear
  assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound
  np.testing.assert_allclose(kernel.std(), bound / math.sqrt(3), rtol=0.02)
  assert bias.std() > 0.4 * bound  # not zero
  assert np.all(np.asarray(dense(4, 3, zero_bias=True, rngs=nnx.Rngs(0)).bias[...]) == 0)


def test_attention_can_start_as_torch_multihead_attention():
  attn = MultiHeadAttention(256, num_heads=4, torch_mha_init=True, rngs=nnx.Rngs(0))
  bound = math.sqrt(6 / (256 + 3 * 256))  # xavier_uniform over the fused [768, 256] in_proj
  for layer in (attn.query, attn.key, attn.value):
    kernel = np.asarray(layer.kernel[...])
    assert np.abs(kernel).max() <= bound
    np.testing.assert_allclose(kernel.std(), bound / math.sqrt(3), rtol=0.02)
    assert np.all(np.asarray(layer.bias[...]) == 0)
