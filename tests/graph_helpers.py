"""Small random graphs for model tests: padded batches, node permutations, categorical features."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from research.graph.batch import GraphBatch, pad_graphs
from research.graph.encodings import laplacian_pe, rwse

F, FE, K, R = 3, 2, 4, 3  # node features, edge features, Laplacian eigenvectors, RWSE steps
NODE_VOCAB, EDGE_VOCAB = 5, 3  # category ids when features are categorical
SIZES = (6, 5, 1, 4)  # includes a one-node graph


def random_graph(rng: np.random.Generator, n: int, complete: bool = False, categorical: bool = False) -> dict:
  """An undirected graph (both edge directions) with features and encodings.

  Float features by default; `categorical=True` gives int32 category ids [n, 1] / [E, 1].
  """
  if complete:
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
  else:
    pairs = {(i, i + 1) for i in range(n - 1)}  # a path, plus random chords
    pairs |= {tuple(sorted(rng.choice(n, 2, replace=False))) for _ in range(n // 2)} if n > 2 else set()
    pairs = sorted(pairs)
  senders = np.array([a for a, b in pairs] + [b for a, b in pairs], np.int32)
  receivers = np.array([b for a, b in pairs] + [a for a, b in pairs], np.int32)
  eigvec, eigval = laplacian_pe(senders, receivers, n, K)
  if categorical:
    node_features = rng.integers(0, NODE_VOCAB, size=(n, 1)).astype(np.int32)
    half = rng.integers(0, EDGE_VOCAB, size=(len(pairs), 1)).astype(np.int32)
    edge_features = np.concatenate([half, half])  # the same type in both directions
  else:
    node_features = rng.normal(size=(n, F)).astype(np.float32)
    edge_features = rng.normal(size=(len(senders), FE)).astype(np.float32)
  return {
    "num_nodes": n,
    "senders": senders,
    "receivers": receivers,
    "node_features": node_features,
    "edge_features": edge_features,
    "lap_eigvec": eigvec,
    "lap_eigval": eigval,
    "rwse": rwse(senders, receivers, n, R),
  }


def permute(rec: dict, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
  """Relabels nodes by a random permutation and shuffles the edge order; new node i is old node perm[i]."""
  n = rec["num_nodes"]
  perm = rng.permutation(n)
  inv = np.argsort(perm)
  order = rng.permutation(len(rec["senders"]))
  relabel = lambda index: inv[index][order].astype(np.int32)
  out = dict(rec, senders=relabel(rec["senders"]), receivers=relabel(rec["receivers"]))
  out["edge_features"] = rec["edge_features"][order]
  for key in ("node_features", "lap_eigvec", "rwse"):
    out[key] = rec[key][perm]
  return out, perm


def empty_graph(like: dict) -> dict:
  """A graph with no nodes and no edges, with the fields of `like` (batch padding)."""
  out = dict(like, num_nodes=0, senders=np.zeros(0, np.int32), receivers=np.zeros(0, np.int32))
  for key in ("node_features", "edge_features", "lap_eigvec", "rwse"):
    out[key] = like[key][:0]
  return out


def pad_batch(records: list[dict], max_nodes: int = 8, max_edges: int = 32, graphs_per_pack: int = 1) -> GraphBatch:
  padded = pad_graphs(records, max_nodes, max_edges * graphs_per_pack, graphs_per_pack)
  return GraphBatch.from_batch({k: jnp.asarray(v) for k, v in padded.items()})


def graphs(
  seed: int = 0, sizes: tuple[int, ...] = SIZES, complete: bool = False, categorical: bool = False
) -> list[dict]:
  rng = np.random.default_rng(seed)
  return [random_graph(rng, n, complete, categorical) for n in sizes]
