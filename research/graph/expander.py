"""Exphormer's random expander edges.

Exphormer (Shirzad et al., ICML 2023) adds a random regular graph to each input
graph and attends along its edges. `expander_edges` reproduces
`generate_random_expander` of the official code (hamed1375/Exphormer,
graphgps/transform/expander_edges.py) with its default 'Random-d' algorithm
(cfg.prep.exp_algorithm in graphgps/config/data_preprocess_config.py; the
'Hamiltonian' variant is `algorithm="hamiltonian"`):

- `degree` d counts permutations (exp_deg: 5 on CIFAR10, 7 on PATTERN in
  configs/Exphormer/*.yaml): each of d uniformly random permutations sigma adds
  the edges v -> sigma(v), and every edge is stored in both directions, so
  every node has exactly 2d out-edges and 2d in-edges. 'Hamiltonian' instead
  adds, for each of d random orderings, the cycle through all nodes in that
  order, both directions, also 2d-regular.
- It is a multigraph: duplicate edges and self-loops (sigma(v) = v, stored
  twice) are kept. The official code computes a self-loop-free copy but stores
  the unfiltered arrays, so the model sees them; so do we.
- Candidates are drawn until one has a spectral gap of at least
  2d - 2 sqrt(2d - 1) - 0.1, i.e. is within 0.1 of Ramanujan, or
  `MAX_NUM_ITERS` = 100 candidates were drawn (cfg.prep.exp_max_num_iters);
  the first candidate with the largest gap is kept. The gap is the
  second-smallest eigenvalue of L = D - A', D the degrees counting every edge
  and A' the adjacency (multi-edges counted) without its diagonal: the official
  `laplacian_matrix` (graphgps/transform/dist_transforms.py) overwrites the
  diagonal of -A with the degrees, so self-loops add to L's diagonal instead of
  cancelling. Without self-loops this is the usual Laplacian gap.
- Graphs with n <= `COMPLETE_GRAPH_MAX_NODES` = 10 nodes get the complete
  directed graph without self-loops instead (no random draws). If d >= n,
  d = n - 1 permutations are drawn, but the acceptance threshold keeps the
  requested d (as officially), so such candidates rarely pass and the best of
  `max_num_iters` is kept.

Given the same numpy Generator state, the output equals the official one, edge
order included: the draws are the same calls (`rng.permutation(n)`, d per
candidate). The gap is computed here by a dense symmetric eigensolver instead
of ARPACK (whose random start makes the official choice itself vary at
round-off), so a candidate within round-off of the threshold can be judged
differently. That happens in practice only for d = 1, whose candidates (unions
of cycles, usually disconnected) have gap 0 against a threshold of 0.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

# cfg.prep.exp_max_num_iters in graphgps/config/data_preprocess_config.py.
MAX_NUM_ITERS = 100
# Up to this many nodes the official code uses the complete graph.
COMPLETE_GRAPH_MAX_NODES = 10
# Above this many nodes the spectral gap is computed with sparse Lanczos.
_DENSE_EIGEN_MAX_NODES = 1024
_ALGORITHMS = ("random_d", "hamiltonian")


def _permutation_edges(perms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """'Random-d': v -> perm(v) for each permutation, then every edge reversed."""
  d, n = perms.shape
  forward_senders = np.tile(np.arange(n), d)  # [d * n]
  forward_receivers = perms.reshape(-1)  # [d * n]
  return (
    np.concatenate([forward_senders, forward_receivers]),
    np.concatenate([forward_receivers, forward_senders]),
  )


def _hamiltonian_edges(perms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """'Hamiltonian': for each ordering, v <-> its predecessor, both directions in turn."""
  current = perms  # [d, n]
  previous = np.roll(perms, 1, axis=1)  # [d, n], the node before each one (cyclically)
  senders = np.stack([current, previous], axis=-1).reshape(-1)  # [2 * d * n]
  receivers = np.stack([previous, current], axis=-1).reshape(-1)
  return senders, receivers


def _spectral_gap(senders: np.ndarray, receivers: np.ndarray, num_nodes: int, degree: int) -> float:
  """Second-smallest eigenvalue of Exphormer's L = D - A' (A' without self-loops).

  Candidates have 2 * degree edges per node (self-loops included), so
  L = 2 * degree * I - A' and the gap is 2 * degree minus the second-largest
  eigenvalue of A'.
  """
  off_diagonal = senders != receivers
  adj = scipy.sparse.coo_matrix(
    (np.ones(int(off_diagonal.sum())), (senders[off_diagonal], receivers[off_diagonal])),
    shape=(num_nodes, num_nodes),
  ).tocsr()  # duplicates summed
  if num_nodes <= _DENSE_EIGEN_MAX_NODES:
    second = scipy.linalg.eigvalsh(adj.toarray(), subset_by_index=[num_nodes - 2, num_nodes - 2])[0]
  else:
    second = np.sort(scipy.sparse.linalg.eigsh(adj, k=2, which="LA", return_eigenvectors=False))[0]
  return 2 * degree - float(second)


def expander_edges(
  num_nodes: int,
  degree: int,
  rng: np.random.Generator,
  *,
  algorithm: str = "random_d",
  max_num_iters: int = MAX_NUM_ITERS,
) -> tuple[np.ndarray, np.ndarray]:
  """A random 2*degree-regular expander on num_nodes nodes, as Exphormer builds it.

  Args:
    num_nodes: number of nodes n of the graph the edges are added to.
    degree: number of random permutations d (Exphormer's exp_deg); each node
      gets 2d out-edges and 2d in-edges.
    rng: numpy Generator; the output is a function of its state.
    algorithm: "random_d" (Exphormer's 'Random-d', the default) or
      "hamiltonian" ('Hamiltonian').
    max_num_iters: most candidates drawn before the best one is kept.

  Returns:
    senders [M] int32 and receivers [M] int32, every edge in both directions,
    with M = 2 * d * n (d capped at n - 1) for n > 10, and n * (n - 1) (the
    complete graph) for n <= 10, including M = 0 for n <= 1.
  """
  if not isinstance(rng, np.random.Generator):
    raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)); got {type(rng).__name__}.")
  if num_nodes < 0:
    raise ValueError(f"num_nodes={num_nodes} must be >= 0.")
  if degree < 1:
    raise ValueError(f"degree={degree} must be >= 1 (the number of random permutations; Exphormer uses 5 or 7).")
  if algorithm not in _ALGORITHMS:
    raise ValueError(f"algorithm={algorithm!r} must be one of {_ALGORITHMS}.")
  if max_num_iters < 1:
    raise ValueError(f"max_num_iters={max_num_iters} must be >= 1 (candidates to draw).")

  if num_nodes <= COMPLETE_GRAPH_MAX_NODES:
    senders, receivers = np.nonzero(~np.eye(num_nodes, dtype=bool))  # row-major: sender-major
    return senders.astype(np.int32), receivers.astype(np.int32)

  target_gap = max(0.0, 2 * degree - 2 * math.sqrt(2 * degree - 1) - 0.1)  # requested degree
  num_perms = min(degree, num_nodes - 1)
  build = _permutation_edges if algorithm == "random_d" else _hamiltonian_edges
  best_gap, best = -1.0, None
  for _ in range(max_num_iters):
    perms = np.stack([rng.permutation(num_nodes) for _ in range(num_perms)])  # [d, n]
    senders, receivers = build(perms)
    gap = _spectral_gap(senders, receivers, num_nodes, num_perms)
    if gap > best_gap:
      best_gap, best = gap, (senders, receivers)
    if gap >= target_gap:
      break
  senders, receivers = best
  return senders.astype(np.int32), receivers.astype(np.int32)
