"""Stochastic block model graphs of PATTERN and CLUSTER (Dwivedi et al., Benchmarking GNNs).

This follows the official generator notebooks (graphdeeplearning/benchmarking-gnns,
data/SBMs/generate_SBM_PATTERN.ipynb and generate_SBM_CLUSTER.ipynb, the
versions that produced the released data), with the same parameters and the
same distribution over graphs, drawn with numpy Generators seeded from
constants instead of the notebooks' unseeded global `np.random`.

Stochastic block model (SBM). The nodes of a graph are split into communities
whose sizes are drawn independently and uniformly from {5, ..., 34}
(`SIZE_MIN`..`SIZE_MAX`; the notebooks' `np.random.randint(5, 35)`, which the
paper writes as "between [5, 35]"). Every unordered pair of distinct nodes is
joined independently, with probability p if both lie in the same community
and q otherwise. Graphs are simple and undirected: no self-loops, no
multi-edges. After construction the node order is shuffled by a uniformly
random permutation, so the index of a node says nothing about its community.

PATTERN (node classification, 2 classes: is the node part of the planted
pattern?).
  - Patterns. `PATTERN_NUM_PATTERNS` = 100 patterns are drawn once for the
    whole dataset. Pattern P_m has s_m ~ U{5, ..., 34} nodes
    (`PATTERN_SIZE_MIN`..`PATTERN_SIZE_MAX`), internal edges from an
    Erdos-Renyi G(s_m, p_P) graph with p_P = `PATTERN_P_P` = 0.5, and node
    features drawn uniformly from the vocabulary {0, 1, 2}
    (`PATTERN_VOCAB_SIZE` = 3). A pattern's edges and features are fixed:
    every graph that plants P_m contains exactly this subgraph with exactly
    these features.
  - Graph. `PATTERN_NUM_COMMUNITIES` = 5 communities, SBM with
    p = `PATTERN_P` = 0.5 and q = `PATTERN_Q` = 0.35; each of these nodes gets
    a feature drawn uniformly from {0, 1, 2}. The pattern is added as a sixth
    block: its own edges and features as drawn above, and each (pattern node,
    community node) pair joined with probability q_P = `PATTERN_Q_P` = 0.5.
    Label 1 for the pattern's nodes, 0 for the others. 30..204 nodes, 117 on
    average (5 x 19.5 + 19.5).
  - Splits. Each pattern contributes 100 train, 20 val and 20 test graphs
    (10,000 / 2,000 / 2,000), so the same 100 patterns occur in all three
    splits; within a split the graphs are ordered by pattern.
CLUSTER (node classification, 6 classes: the community of the node;
"semi-supervised clustering").
  - Graph. `CLUSTER_NUM_COMMUNITIES` = 6 communities, SBM with
    p = `CLUSTER_P` = 0.55 and q = `CLUSTER_Q` = 0.25. In each community r
    (0..5) one node, chosen uniformly, carries the feature r + 1 (its
    community as a hint); every other node carries 0. The vocabulary is
    therefore {0, ..., 6} (`CLUSTER_VOCAB_SIZE` = 7). Label: the community r.
    30..204 nodes, 117 on average (6 x 19.5).
  - Splits. 10,000 / 1,000 / 1,000 independent graphs.

The paper's text (arXiv 2003.00982) describes an earlier PATTERN, with every
pattern of 20 nodes; the notebook draws pattern sizes from U{5, ..., 34}, and
its comments mark earlier settings ("v1": q = 0.2, 20-node patterns). We
follow the notebook, whose parameters are those of the released data.

Determinism. Every random draw comes from a numpy Generator seeded with
`[seed, stream, ...indices]`: pattern m uses `[seed, 0, m]`, the k-th PATTERN
graph of pattern m in split s uses `[seed, 1, s, m, k]`, and the i-th CLUSTER
graph of split s uses `[seed, 2, s, i]` (s = 0, 1, 2 for train, val, test).
A graph therefore depends only on its seed and indices, not on how many
graphs are generated before it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

SPLITS = ("train", "val", "test")

SIZE_MIN = 5  # community sizes are uniform on {SIZE_MIN, ..., SIZE_MAX}
SIZE_MAX = 34

PATTERN_NUM_COMMUNITIES = 5
PATTERN_P = 0.5  # edge probability within a community
PATTERN_Q = 0.35  # edge probability between two communities
PATTERN_VOCAB_SIZE = 3  # node features are categories {0, 1, 2}
PATTERN_NUM_PATTERNS = 100
PATTERN_SIZE_MIN = 5  # pattern sizes are uniform on {PATTERN_SIZE_MIN, ..., PATTERN_SIZE_MAX}
PATTERN_SIZE_MAX = 34
PATTERN_P_P = 0.5  # edge probability inside a pattern (drawn once per pattern)
PATTERN_Q_P = 0.5  # edge probability between a pattern node and a community node
# Graphs per pattern in each split: 100 x (100, 20, 20) = 10,000 / 2,000 / 2,000.
PATTERN_GRAPHS_PER_PATTERN = {"train": 100, "val": 20, "test": 20}

CLUSTER_NUM_COMMUNITIES = 6
CLUSTER_P = 0.55
CLUSTER_Q = 0.25
CLUSTER_VOCAB_SIZE = CLUSTER_NUM_COMMUNITIES + 1  # 0 = no hint, r + 1 = "in community r"
CLUSTER_NUM_GRAPHS = {"train": 10_000, "val": 1_000, "test": 1_000}

_PATTERN_STREAM, _PATTERN_GRAPH_STREAM, _CLUSTER_GRAPH_STREAM = 0, 1, 2


@dataclasses.dataclass(frozen=True)
class Pattern:
  """A planted PATTERN subgraph: its edges and node features, shared by every graph that plants it."""

  adjacency: np.ndarray  # [m, m] bool, symmetric, zero diagonal
  features: np.ndarray  # [m] int32 in [0, PATTERN_VOCAB_SIZE)

  @property
  def num_nodes(self) -> int:
    return len(self.features)


@dataclasses.dataclass(frozen=True)
class SbmGraph:
  """One generated graph; edges in both directions, sorted by (sender, receiver)."""

  senders: np.ndarray  # [E] int32
  receivers: np.ndarray  # [E] int32
  node_inputs: np.ndarray  # [n] int32 input category (PATTERN 0..2, CLUSTER 0..6)
  node_labels: np.ndarray  # [n] int32 target (PATTERN 0/1, CLUSTER 0..5)
  communities: np.ndarray  # [n] int32 SBM block (PATTERN: 0..4, pattern = 5; CLUSTER = labels)

  @property
  def num_nodes(self) -> int:
    return len(self.node_labels)


def _split_index(split: str) -> int:
  if split not in SPLITS:
    raise ValueError(f"split={split!r} is not one of {SPLITS}.")
  return SPLITS.index(split)


def community_sizes(rng: np.random.Generator, num_communities: int) -> np.ndarray:
  """Sizes of `num_communities` communities, each uniform on {SIZE_MIN, ..., SIZE_MAX}."""
  return rng.integers(SIZE_MIN, SIZE_MAX + 1, size=num_communities)


def block_probabilities(communities: np.ndarray, p: float, q: float) -> np.ndarray:
  """[n, n] edge probabilities of an SBM: p within a community, q between two."""
  return np.where(communities[:, None] == communities[None, :], p, q)


def sample_undirected(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
  """A symmetric bool adjacency with each pair i < j present with probability probabilities[i, j].

  Probabilities of exactly 0 or 1 give absent or present edges with certainty.
  The diagonal is always False.
  """
  n = len(probabilities)
  upper = np.triu(rng.random((n, n)) < probabilities, k=1)
  return upper | upper.T


def _shuffled_graph(
  rng: np.random.Generator,
  adjacency: np.ndarray,
  node_inputs: np.ndarray,
  node_labels: np.ndarray,
  communities: np.ndarray,
) -> SbmGraph:
  """Relabels the nodes by a random permutation (new node i = old node perm[i]) and lists the edges."""
  perm = rng.permutation(len(adjacency))
  adjacency = adjacency[np.ix_(perm, perm)]
  senders, receivers = np.nonzero(adjacency)  # row-major: sorted by (sender, receiver)
  return SbmGraph(
    senders=senders.astype(np.int32),
    receivers=receivers.astype(np.int32),
    node_inputs=node_inputs[perm].astype(np.int32),
    node_labels=node_labels[perm].astype(np.int32),
    communities=communities[perm].astype(np.int32),
  )


def make_pattern(rng: np.random.Generator) -> Pattern:
  """One PATTERN pattern: s ~ U{5..34} nodes, G(s, p_P) edges, features uniform on the vocabulary."""
  size = int(rng.integers(PATTERN_SIZE_MIN, PATTERN_SIZE_MAX + 1))
  adjacency = sample_undirected(rng, np.full((size, size), PATTERN_P_P))
  features = rng.integers(PATTERN_VOCAB_SIZE, size=size).astype(np.int32)
  return Pattern(adjacency=adjacency, features=features)


def make_patterns(seed: int, num_patterns: int = PATTERN_NUM_PATTERNS) -> list[Pattern]:
  """The dataset's patterns; pattern m is drawn from the Generator seeded [seed, 0, m]."""
  if num_patterns < 1:
    raise ValueError(f"num_patterns={num_patterns} must be >= 1.")
  return [make_pattern(np.random.default_rng([seed, _PATTERN_STREAM, m])) for m in range(num_patterns)]


def pattern_graph(rng: np.random.Generator, pattern: Pattern) -> SbmGraph:
  """One PATTERN graph: a 5-community SBM (p = 0.5, q = 0.35) with `pattern` planted (q_P = 0.5)."""
  sizes = community_sizes(rng, PATTERN_NUM_COMMUNITIES)
  m = pattern.num_nodes
  communities = np.repeat(np.arange(PATTERN_NUM_COMMUNITIES + 1), np.append(sizes, m))  # the pattern is block 5
  probabilities = block_probabilities(communities, PATTERN_P, PATTERN_Q)
  probabilities[-m:, :] = PATTERN_Q_P  # pattern <-> community nodes
  probabilities[:, -m:] = PATTERN_Q_P
  probabilities[-m:, -m:] = pattern.adjacency  # the pattern's own edges, with certainty
  adjacency = sample_undirected(rng, probabilities)
  node_inputs = np.concatenate([rng.integers(PATTERN_VOCAB_SIZE, size=sizes.sum()), pattern.features])
  node_labels = (communities == PATTERN_NUM_COMMUNITIES).astype(np.int32)
  return _shuffled_graph(rng, adjacency, node_inputs, node_labels, communities)


def pattern_split(seed: int, split: str, patterns: Sequence[Pattern], graphs_per_pattern: int) -> Iterator[SbmGraph]:
  """The graphs of one PATTERN split, `graphs_per_pattern` per pattern, ordered by pattern."""
  s = _split_index(split)
  for m, pattern in enumerate(patterns):
    for k in range(graphs_per_pattern):
      yield pattern_graph(np.random.default_rng([seed, _PATTERN_GRAPH_STREAM, s, m, k]), pattern)


def cluster_graph(rng: np.random.Generator) -> SbmGraph:
  """One CLUSTER graph: a 6-community SBM (p = 0.55, q = 0.25), one labelled hint node per community."""
  sizes = community_sizes(rng, CLUSTER_NUM_COMMUNITIES)
  communities = np.repeat(np.arange(CLUSTER_NUM_COMMUNITIES), sizes)
  adjacency = sample_undirected(rng, block_probabilities(communities, CLUSTER_P, CLUSTER_Q))
  starts = np.cumsum(sizes) - sizes
  hints = starts + rng.integers(0, sizes)  # one uniform node of each community (before shuffling)
  node_inputs = np.zeros(len(communities), np.int32)
  node_inputs[hints] = np.arange(CLUSTER_NUM_COMMUNITIES) + 1
  return _shuffled_graph(rng, adjacency, node_inputs, communities, communities)


def cluster_split(seed: int, split: str, num_graphs: int) -> Iterator[SbmGraph]:
  """The `num_graphs` graphs of one CLUSTER split; graph i is drawn from [seed, 2, split, i]."""
  s = _split_index(split)
  for i in range(num_graphs):
    yield cluster_graph(np.random.default_rng([seed, _CLUSTER_GRAPH_STREAM, s, i]))
