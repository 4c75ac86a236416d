"""Static batch budgets for the graph datasets (nodes per graph, edges per pack).

Batches have static shapes (research/graph/batch.py): every graph is padded to
`max_nodes`, and the edges of `graphs_per_pack` consecutive graphs share one
edge list of `max_edges` slots. Random training packs get a statistical
budget, P * mean + 6.5 * std * sqrt(P) edges rounded up to a multiple of 1,024
and capped at P * max (which always fits); a pack exceeds it with probability
~1e-10, and the run would stop with an error naming config.data.max_edges.
Evaluation reads graphs in order, where neighbours are alike (records are
grouped, e.g. by PATTERN's planted pattern), so its packs get P * max.
"""

from __future__ import annotations

import dataclasses

import ml_collections


@dataclasses.dataclass(frozen=True)
class EdgeCounts:
  """Directed edges per graph of a dataset's training split: mean, standard deviation, maximum."""

  mean: int
  std: int
  max: int


# Measured on the generated datasets (research/data/sbm/README.md), training splits.
SBM_MAX_NODES = 6 * 34  # at most 6 blocks of at most 34 nodes (PATTERN: 5 communities + the pattern)
SBM_EDGES = {
  "pattern": EdgeCounts(mean=5_724, std=2_065, max=14_694),
  "cluster": EdgeCounts(mean=4_288, std=1_477, max=10_526),
}


def pack_edge_budget(edges: EdgeCounts, graphs_per_pack: int) -> int:
  """Edge slots of a random training pack of `graphs_per_pack` graphs (see the module docstring)."""
  statistical = graphs_per_pack * edges.mean + 6.5 * edges.std * graphs_per_pack**0.5
  return min(-(-int(statistical) // 1024) * 1024, graphs_per_pack * edges.max)


def sbm_expander_budget(expander_degree: int, graphs_per_pack: int) -> int:
  """Expander edge slots of a pack: 2 d n per graph (n > 10), at most 2 d * 204; always fits."""
  return graphs_per_pack * 2 * expander_degree * SBM_MAX_NODES


def set_sbm_budgets(data: ml_collections.ConfigDict, name: str, graphs_per_pack: int, expander_degree: int = 0) -> None:
  """Fills data.max_nodes, graphs_per_pack, max_edges and eval_max_edges for PATTERN or CLUSTER.

  A nonzero `expander_degree` (permutations per graph) also fills data.max_expander_edges.
  """
  edges = SBM_EDGES[name]
  data.max_nodes = SBM_MAX_NODES
  data.graphs_per_pack = graphs_per_pack  # a divisor of each device's share of the batch
  data.max_edges = pack_edge_budget(edges, graphs_per_pack)
  data.eval_max_edges = graphs_per_pack * edges.max
  if expander_degree:
    data.max_expander_edges = sbm_expander_budget(expander_degree, graphs_per_pack)
