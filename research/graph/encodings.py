"""Positional and structural node encodings.

`laplacian_pe` and `rwse` run in numpy at data-preparation time, once per
graph; `random_sign_flip` runs in jax on batches during training.

Both encodings see the graph as undirected and simple: directed edges are
symmetrised, duplicates merged and self-loops dropped.
"""

from __future__ import annotations

import jax
import numpy as np


def check_edges(senders: np.ndarray, receivers: np.ndarray, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
  """Validates an edge list and returns it as flat int64 arrays."""
  senders = np.asarray(senders, np.int64).reshape(-1)
  receivers = np.asarray(receivers, np.int64).reshape(-1)
  if senders.shape != receivers.shape:
    raise ValueError(
      f"senders ({senders.shape[0]}) and receivers ({receivers.shape[0]}) must have the same "
      "length; pass one entry per directed edge in each."
    )
  if num_nodes < 0:
    raise ValueError(f"num_nodes={num_nodes} must be >= 0.")
  if senders.size and (min(senders.min(), receivers.min()) < 0 or max(senders.max(), receivers.max()) >= num_nodes):
    raise ValueError(
      f"Edge endpoints must lie in [0, num_nodes={num_nodes}); got a range of "
      f"[{min(senders.min(), receivers.min())}, {max(senders.max(), receivers.max())}]."
    )
  return senders, receivers


def _check_k(k: int) -> None:
  if k < 0:
    raise ValueError(f"k={k} must be >= 0 (the number of encoding channels).")


def undirected_adjacency(senders: np.ndarray, receivers: np.ndarray, num_nodes: int) -> np.ndarray:
  """Dense 0/1 adjacency [num_nodes, num_nodes] of the symmetrised simple graph."""
  senders, receivers = check_edges(senders, receivers, num_nodes)
  adj = np.zeros((num_nodes, num_nodes), np.float64)
  adj[senders, receivers] = 1.0
  adj[receivers, senders] = 1.0
  np.fill_diagonal(adj, 0.0)
  return adj


def laplacian_pe(
  senders: np.ndarray,
  receivers: np.ndarray,
  num_nodes: int,
  k: int,
  *,
  normalization: str = "sym",
  skip_trivial: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
  """Laplacian eigenvectors as node positional encodings.

  Two conventions are in use:
  - Benchmarking GNNs (Dwivedi et al.; GT, SAN): `normalization="sym"`, the
    symmetric normalised Laplacian L = I - D^-1/2 A D^-1/2 with degrees clipped
    to >= 1 (isolated nodes give a unit row instead of inf), and
    `skip_trivial=True`, which drops the first eigenpair.
  - GraphGPS (`laplacian_norm: none`, Exphormer too): `normalization="none"`,
    the combinatorial Laplacian L = D - A, with `skip_trivial=False`.
  Eigenpairs are sorted by ascending eigenvalue and the first k kept (after
  the trivial one, if skipped). Graphs with too few nodes get zero columns and
  zero eigenvalues for the missing ones: column j exists iff
  j < n - skip_trivial. Each column's sign (and, for repeated eigenvalues, the
  basis of the eigenspace) is arbitrary; see `random_sign_flip`.

  Args:
    senders: [E] source node of each directed edge.
    receivers: [E] target node of each directed edge.
    num_nodes: number of nodes n.
    k: number of eigenvectors to keep.
    normalization: "sym" (I - D^-1/2 A D^-1/2) or "none" (D - A).
    skip_trivial: drop the first (smallest) eigenpair.

  Returns:
    eigvec [n, k] float32 (unit columns) and eigval [k] float32.
  """
  _check_k(k)
  if normalization not in ("sym", "none"):
    raise ValueError(f"normalization={normalization!r} must be 'sym' (normalised) or 'none' (combinatorial).")
  adj = undirected_adjacency(senders, receivers, num_nodes)
  eigvec = np.zeros((num_nodes, k), np.float32)
  eigval = np.zeros((k,), np.float32)
  first = int(skip_trivial)
  kept = max(min(k, num_nodes - first), 0)
  if kept == 0:
    return eigvec, eigval
  deg = adj.sum(axis=1)
  if normalization == "sym":
    inv_sqrt_deg = 1.0 / np.sqrt(np.maximum(deg, 1.0))
    lap = np.eye(num_nodes) - inv_sqrt_deg[:, None] * adj * inv_sqrt_deg[None, :]
  else:
    lap = np.diag(deg) - adj
  vals, vecs = np.linalg.eigh(lap)  # ascending
  vals = np.maximum(vals, 0.0)  # L is positive semi-definite; remove -1e-16 round-off
  eigval[:kept] = vals[first : first + kept]
  eigvec[:, :kept] = vecs[:, first : first + kept]
  return eigvec, eigval


def rwse(senders: np.ndarray, receivers: np.ndarray, num_nodes: int, k: int) -> np.ndarray:
  """Random-walk structural encoding, as in GraphGPS.

  Column t - 1 holds the diagonal of (D^-1 A)^t, the probability that a random
  walk of t steps returns to its start, for t = 1..k. Isolated nodes give 0.

  Args:
    senders: [E] source node of each directed edge.
    receivers: [E] target node of each directed edge.
    num_nodes: number of nodes n.
    k: number of walk lengths.

  Returns:
    [n, k] float32.
  """
  _check_k(k)
  adj = undirected_adjacency(senders, receivers, num_nodes)
  deg = adj.sum(axis=1)
  walk = adj * np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)[:, None]
  out = np.zeros((num_nodes, k), np.float32)
  power = np.eye(num_nodes)
  for t in range(k):
    power = power @ walk
    out[:, t] = np.diagonal(power)
  return out


def random_sign_flip(key: jax.Array, eigvec: jax.Array) -> jax.Array:
  """Multiplies each eigenvector column of each graph by an independent random +-1.

  Args:
    key: a jax PRNG key.
    eigvec: [B, N, K] Laplacian eigenvectors.

  Returns:
    [B, N, K], same dtype, each [b, :, j] column either kept or negated.
  """
  if eigvec.ndim != 3:
    raise ValueError(f"eigvec must be [B, N, K]; got shape {eigvec.shape}.")
  signs = jax.random.rademacher(key, (eigvec.shape[0], 1, eigvec.shape[2]), dtype=eigvec.dtype)
  return eigvec * signs
