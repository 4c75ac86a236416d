"""GRIT's relative random-walk probabilities (RRWP).

GRIT (Ma et al., ICML 2023) gives every ordered pair of nodes (i, j) the vector
[I, M, M^2, ..., M^(K-1)][i, j] with M = D^-1 A, as computed by `add_full_rrwp`
in grit/transform/rrwp.py (LiamMa/GRIT) with add_identity=True
(grit/transform/posenc_stats.py) and walk_length = posenc_RRWP.ksteps = 21 in the
ZINC and PATTERN configs (configs/GRIT/*-GRIT-RRWP.yaml). Its conventions:

- K counts channels including the identity: K = 21 is I, M, ..., M^20.
- A is read as directed, as the edge list gives it: A[s, r] = 1 for an edge
  s -> r (PyG's datasets list both directions). Self-loops count as edges.
- M is row-normalised by out-degree, so out[i, j, t] is the probability that a
  t-step random walk from i ends at j. For a node without out-edges (isolated,
  or a sink of a directed graph) 1/deg is set to 0: its rows of M^t are zero
  for t >= 1, while the identity channel stays 1. So a row of M^t sums to 1
  unless some t-step walk from i runs into such a node (in an undirected
  graph: unless i is isolated).
- GRIT stores out[i, j] on the edge j -> i (`rel_pe_idx = [col, row]`), whose
  target i aggregates from source j: out[i, j] is the pair feature of query i
  and key j. Pairs with an all-zero vector are left out of GRIT's sparse storage
  and padded back with zeros by its encoder (`pad_to_full_graph`,
  grit/encoder/rrwp_encoder.py), which is what the dense array holds. The node
  encoding (GRIT's `rrwp`, abs_pe) is the diagonal out[i, i].

Duplicate edges are merged here (A is 0/1). The official code does not merge
them (its degree counts every copy); ZINC and PATTERN have none, so the two
agree on the datasets GRIT reports.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from research.graph.encodings import check_edges

# GRIT's number of RRWP channels (identity included) on ZINC and PATTERN.
GRIT_NUM_STEPS = 21


def _check_steps(k: int) -> None:
  if k < 1:
    raise ValueError(f"k={k} must be >= 1: the number of RRWP channels, the identity included (GRIT uses 21).")


def rrwp(senders: np.ndarray, receivers: np.ndarray, num_nodes: int, k: int) -> np.ndarray:
  """Relative random-walk probabilities of one graph, as in GRIT.

  Args:
    senders: [E] source node of each directed edge.
    receivers: [E] target node of each directed edge.
    num_nodes: number of nodes n.
    k: number of channels, the identity included (GRIT: 21).

  Returns:
    [n, n, k] float32, out[:, :, t] = (D^-1 A)^t for t = 0..k-1.
  """
  senders, receivers = check_edges(senders, receivers, num_nodes)
  _check_steps(k)
  adj = np.zeros((num_nodes, num_nodes), np.float64)
  adj[senders, receivers] = 1.0
  deg = adj.sum(axis=1)
  walk = adj * np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)[:, None]
  out = np.empty((num_nodes, num_nodes, k), np.float32)
  power = np.eye(num_nodes)
  out[..., 0] = power
  for t in range(1, k):
    power = power @ walk
    out[..., t] = power
  return out


def rrwp_dense(
  senders: jax.Array, receivers: jax.Array, edge_mask: jax.Array, node_mask: jax.Array, k: int
) -> jax.Array:
  """`rrwp` for a padded batch, computed on device.

  For datasets whose [n, n, k] arrays are too big to store per graph (PATTERN:
  117 nodes x 21 channels). Builds each graph's 0/1 adjacency from its real
  edges (duplicates merged, as in `rrwp`), then takes k - 1 batched matrix
  products at full float32 precision. Jit it with k static.

  Args:
    senders: [B, E] int, source node of each directed edge.
    receivers: [B, E] int, target node of each directed edge.
    edge_mask: [B, E] bool, True for real edges.
    node_mask: [B, N] bool, True for real nodes.
    k: number of channels, the identity included (GRIT: 21).

  Returns:
    [B, N, N, k] float32, equal to `rrwp` of each graph on its real nodes and
    0 on every pair that involves a padded node (finite for all-padding graphs).
  """
  _check_steps(k)
  if senders.ndim != 2 or senders.shape != receivers.shape or senders.shape != edge_mask.shape:
    raise ValueError(
      f"senders {senders.shape}, receivers {receivers.shape} and edge_mask {edge_mask.shape} must all be [B, E]."
    )
  if node_mask.ndim != 2 or node_mask.shape[0] != senders.shape[0]:
    raise ValueError(f"node_mask {node_mask.shape} must be [B, N] with B = {senders.shape[0]} as in senders.")
  b, n = node_mask.shape
  graph = jnp.arange(b)[:, None]  # [B, 1]
  adj = jnp.zeros((b, n, n), jnp.float32)
  adj = adj.at[graph, senders, receivers].max(edge_mask.astype(jnp.float32))  # [B, N, N], 0/1
  pair_mask = (node_mask[:, :, None] & node_mask[:, None, :]).astype(jnp.float32)  # [B, N, N]
  adj = adj * pair_mask
  deg = adj.sum(axis=-1)  # [B, N]
  inv_deg = jnp.where(deg > 0, 1.0 / jnp.where(deg > 0, deg, 1.0), 0.0)
  walk = adj * inv_deg[..., None]  # [B, N, N]
  power = jnp.eye(n, dtype=jnp.float32)[None] * pair_mask  # [B, N, N]
  channels = [power]
  for _ in range(1, k):
    power = jnp.matmul(power, walk, precision=jax.lax.Precision.HIGHEST)
    channels.append(power)
  return jnp.stack(channels, axis=-1)  # [B, N, N, k]
