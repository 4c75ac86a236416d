"""Per-graph segment operations over padded edge lists ([B, E] -> [B, N])."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def segment_sum(data: jax.Array, segment_ids: jax.Array, edge_mask: jax.Array, num_segments: int) -> jax.Array:
  """Sums edge values into their segments, per graph: [B, E, ...] -> [B, N, ...]."""
  data = jnp.where(edge_mask.reshape(edge_mask.shape + (1,) * (data.ndim - 2)), data, 0)
  return jax.vmap(lambda d, s: jax.ops.segment_sum(d, s, num_segments=num_segments))(data, segment_ids)


def segment_softmax(logits: jax.Array, segment_ids: jax.Array, edge_mask: jax.Array, num_segments: int) -> jax.Array:
  """Softmax of edge logits over the edges sharing a segment (e.g. a receiver).

  logits: [B, E, ...]; returns [B, E, ...], zero on padded edges.
  """
  mask = edge_mask.reshape(edge_mask.shape + (1,) * (logits.ndim - 2))
  # Shift by the max over real edges only (masked with -inf, not a finite mask value, which would
  # zero out segments whose logits all lie below it); segments without a real edge shift by 0.
  masked = jnp.where(mask, jax.lax.stop_gradient(logits), -jnp.inf)
  seg_max = jax.vmap(lambda d, s: jax.ops.segment_max(d, s, num_segments=num_segments))(masked, segment_ids)
  seg_max = jnp.where(jnp.isfinite(seg_max), seg_max, 0.0)
  index = segment_ids.reshape(segment_ids.shape + (1,) * (logits.ndim - 2))  # [B, E, 1, ...]
  shifted = logits - jnp.take_along_axis(seg_max, index, axis=1)
  exp = jnp.where(mask, jnp.exp(jnp.where(mask, shifted, 0.0)), 0.0)
  denom = segment_sum(exp, segment_ids, edge_mask, num_segments)
  denom_per_edge = jnp.take_along_axis(denom, index, axis=1)
  return exp / jnp.maximum(denom_per_edge, 1e-16)
