"""Statistics of the prepared PATTERN / CLUSTER splits, beside the published ones.

    python -m research.data.sbm.stats --data_dir=DIR [--config=full] [--datasets=pattern,cluster]

builds the datasets under DIR if they are missing, then prints one markdown
row per dataset and split: number of graphs, nodes (mean, min, max), directed
edges (each undirected edge counted twice, as stored; mean, min, max) and the
fraction of nodes in each class (pooled over the split's nodes). Below it,
the numbers to compare with: the expectation under the generator's parameters,
and the published statistics with their sources.

Edge counts. DGL and PyG graphs hold both directions of every edge, and so do
our records, so the edge counts here and in DGL's and PyG's documentation are
directed counts (twice the number of undirected edges). DGL's first PATTERN
training graph, for instance, has 108 nodes and 4,884 edges, about twice what
the SBM gives undirected.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import tensorflow_datasets as tfds

from research.data import sbm
from research.data.sbm import generator as gen

_READ_CHUNK = 512


@dataclasses.dataclass(frozen=True)
class SplitStats:
  """Summary of one split; edges are directed (both directions of each undirected edge)."""

  num_graphs: int
  mean_nodes: float
  min_nodes: int
  max_nodes: int
  mean_edges: float
  min_edges: int
  max_edges: int
  class_fractions: tuple[float, ...]  # fraction of all nodes of the split in each class


def split_stats(records: Iterable[Mapping[str, np.ndarray]], num_classes: int) -> SplitStats:
  """Statistics of records that hold `num_nodes`, `senders` and `node_labels`."""
  nodes, edges, counts = [], [], np.zeros(num_classes, np.int64)
  for record in records:
    nodes.append(int(record["num_nodes"]))
    edges.append(len(record["senders"]))
    counts += np.bincount(np.asarray(record["node_labels"]), minlength=num_classes)[:num_classes]
  if not nodes:
    raise ValueError("split_stats got no records; is the split empty or the data_dir wrong?")
  nodes, edges = np.array(nodes), np.array(edges)
  return SplitStats(
    num_graphs=len(nodes),
    mean_nodes=float(nodes.mean()),
    min_nodes=int(nodes.min()),
    max_nodes=int(nodes.max()),
    mean_edges=float(edges.mean()),
    min_edges=int(edges.min()),
    max_edges=int(edges.max()),
    class_fractions=tuple(float(c) for c in counts / counts.sum()),
  )


def _uniform_moments(low: int, high: int) -> tuple[float, float]:
  """E[s] and E[s (s - 1) / 2] for s uniform on {low, ..., high}."""
  s = np.arange(low, high + 1, dtype=np.float64)
  return float(s.mean()), float((s * (s - 1) / 2).mean())


def expected_stats(name: str) -> dict[str, float]:
  """Mean nodes, mean directed edges and class fractions implied by the generator's parameters.

  For PATTERN this averages over the pattern distribution; a dataset draws only
  100 patterns, so its pattern sizes (and hence nodes, edges and the fraction of
  label 1) deviate from this by their sampling error.
  """
  size, pairs = _uniform_moments(gen.SIZE_MIN, gen.SIZE_MAX)
  if name == "pattern":
    k = gen.PATTERN_NUM_COMMUNITIES
    pattern_size, pattern_pairs = _uniform_moments(gen.PATTERN_SIZE_MIN, gen.PATTERN_SIZE_MAX)
    undirected = (
      k * pairs * gen.PATTERN_P
      + k * (k - 1) / 2 * size**2 * gen.PATTERN_Q
      + pattern_pairs * gen.PATTERN_P_P
      + pattern_size * k * size * gen.PATTERN_Q_P
    )
    nodes = k * size + pattern_size
    return {"nodes": nodes, "edges": 2 * undirected, "class_1": pattern_size / nodes}
  if name == "cluster":
    k = gen.CLUSTER_NUM_COMMUNITIES
    undirected = k * pairs * gen.CLUSTER_P + k * (k - 1) / 2 * size**2 * gen.CLUSTER_Q
    return {"nodes": k * size, "edges": 2 * undirected, "each_class": 1.0 / k}
  raise ValueError(f"Unknown SBM dataset name={name!r}; use 'pattern' or 'cluster'.")


# Published numbers to compare with: (source, quantity, value, verified), where
# `verified` says whether the number was read from its source while writing this.
REFERENCES: dict[str, list[tuple[str, str, str, bool]]] = {
  "pattern": [
    ("official notebook output (generate_SBM_PATTERN.ipynb)", "graphs train/val/test", "10,000 / 2,000 / 2,000", True),
    ("paper's description, as reproduced in DGL's PATTERNDataset docs", "nodes per graph (range)", "44-188", True),
    (
      "PyG GNNBenchmarkDataset docstring (released PATTERN_v2 files)",
      "mean nodes / mean directed edges",
      "~118.9 / ~6,098.9",
      True,
    ),
    ("paper, dataset statistics table", "mean nodes / mean edges", "117.47 / 4,749.15", False),
  ],
  "cluster": [
    ("official notebook output (generate_SBM_CLUSTER.ipynb)", "graphs train/val/test", "10,000 / 1,000 / 1,000", True),
    ("paper's description, as reproduced in DGL's CLUSTERDataset docs", "nodes per graph (range)", "40-190", True),
    (
      "PyG GNNBenchmarkDataset docstring (released CLUSTER_v2 files)",
      "mean nodes / mean directed edges",
      "~117.2 / ~4,303.9",
      True,
    ),
    ("paper, dataset statistics table", "mean nodes / mean edges", "117.20 / 4,301.72", False),
  ],
}


def dataset_stats(data_dir: str | os.PathLike[str], name: str, config: str = "full") -> dict[str, SplitStats]:
  """Per-split statistics of a prepared dataset (`prepare` builds it first if needed)."""
  sbm.prepare(data_dir, name, config)
  num_classes = sbm.NUM_CLASSES[name]
  result = {}
  for split in gen.SPLITS:
    source = tfds.data_source(f"{name}/{config}", split=split, data_dir=os.fspath(data_dir), download=False)

    def records(source=source) -> Iterable[Mapping[str, np.ndarray]]:
      for start in range(0, len(source), _READ_CHUNK):
        yield from source.__getitems__(range(start, min(start + _READ_CHUNK, len(source))))

    result[split] = split_stats(records(), num_classes)
  return result


def format_table(stats: Mapping[str, Mapping[str, SplitStats]]) -> str:
  """A markdown table: one row per (dataset, split)."""
  lines = [
    "| dataset | split | graphs | nodes mean [min, max] | directed edges mean [min, max] | node class fractions |",
    "|---|---|---:|---|---|---|",
  ]
  for name, splits in stats.items():
    for split, s in splits.items():
      fractions = " / ".join(f"{f:.3f}" for f in s.class_fractions)
      lines.append(
        f"| {name} | {split} | {s.num_graphs:,} | {s.mean_nodes:.2f} [{s.min_nodes}, {s.max_nodes}] | "
        f"{s.mean_edges:,.1f} [{s.min_edges:,}, {s.max_edges:,}] | {fractions} |"
      )
  return "\n".join(lines)


def format_references(names: Sequence[str]) -> str:
  """The expected values under the generator's parameters and the published numbers."""
  lines = []
  for name in names:
    expected = expected_stats(name)
    if name == "pattern":
      balance = f"class 1 (pattern) {expected['class_1']:.3f}"
    else:
      balance = f"each class {expected['each_class']:.3f}"
    lines.append(
      f"{name}: expected under the generator's parameters: {expected['nodes']:.2f} nodes, "
      f"{expected['edges']:,.1f} directed edges, {balance}."
    )
    for source, what, value, verified in REFERENCES[name]:
      lines.append(f"  {source}: {what} = {value}{'' if verified else ' (unverified)'}")
  return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
  """The command line: prints the statistics table and the references."""
  parser = argparse.ArgumentParser(prog="python -m research.data.sbm.stats", description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", required=True, help="TFDS data directory (built there if missing).")
  parser.add_argument("--config", default="full", choices=sbm.CONFIGS, help="Builder config (default: full).")
  parser.add_argument("--datasets", default="pattern,cluster", help="Comma-separated subset of pattern,cluster.")
  args = parser.parse_args(argv)
  names = [n.strip() for n in args.datasets.split(",") if n.strip()]
  unknown = [n for n in names if n not in sbm.NAMES]
  if unknown or not names:
    parser.error(f"--datasets={args.datasets!r} must be a comma-separated subset of {','.join(sbm.NAMES)}.")
  stats = {name: dataset_stats(args.data_dir, name, args.config) for name in names}
  print(format_table(stats))
  print()
  print(format_references(names))


if __name__ == "__main__":
  main()
