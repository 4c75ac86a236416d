"""PATTERN and CLUSTER as TFDS builders (`pattern`, `cluster`; ArrayRecord files).

The graphs come from research/data/sbm/generator.py (whose docstring states
the generation procedure and every parameter). Each builder has two configs:
  - "full": the paper's sizes. PATTERN: 100 patterns x (100, 20, 20) graphs =
    10,000 / 2,000 / 2,000; CLUSTER: 10,000 / 1,000 / 1,000.
  - "tiny": the same generator and seed at 64 / 16 / 16 graphs, for smoke
    tests and CI (PATTERN: 4 patterns x (16, 4, 4)). Its graphs are the first
    graphs of the full config's splits (PATTERN: those of patterns 0..3), so
    a tiny record equals the full record of the same pattern and index.

Splits "train", "val", "test". Each record:
  graph_id       int32        index of the graph within its split (record order)
  num_nodes      int32        n
  senders        int32 [E]    every undirected edge in both directions, sorted by
  receivers      int32 [E]    (sender, receiver); no self-loops, no duplicates
  node_features  float32 [n, C]  one-hot input category; C = 3 (PATTERN: a
                 feature uniform on {0, 1, 2}) or 7 (CLUSTER: 0 = no hint,
                 r + 1 = hint "this node is in community r"), the input
                 dimension of PyG's GNNBenchmarkDataset, which GraphGPS reads
  edge_features  float32 [E, 1]  ones (the datasets have no edge features)
  node_labels    int32 [n]    PATTERN: 1 if the node is in the planted pattern,
                 else 0; CLUSTER: the node's community 0..5
  lap_eigvec     float32 [n, 16], lap_eigval float32 [16]: the first 16
                 eigenpairs of the combinatorial Laplacian D - A, the trivial
                 one included (GraphGPS's LapPE convention), see
                 research/graph/encodings.py
  lap_sym_eigvec float32 [n, 10], lap_sym_eigval float32 [10] (from 1.2.0):
                 the 10 eigenpairs of the symmetric normalised Laplacian
                 I - D^-1/2 A D^-1/2 that follow the trivial (smallest) one,
                 in ascending order: the Graph Transformer's LapPE, of which
                 its PATTERN config reads 2 columns and CLUSTER 10
                 (`LAP_SYM_PE_DIM`)
  expander_senders    int32 [M]  Exphormer's random expander on the graph's
  expander_receivers  int32 [M]  nodes (research/graph/expander.py, 'Random-d'):
                 d random permutations, every edge in both directions, M =
                 2 d n (n > 10). d is the builder config's `expander_degree`:
                 7 for PATTERN, 3 for CLUSTER, the exp_deg of the official
                 configs/Exphormer/{pattern,cluster}.yaml. The official code
                 draws them once per graph before training from an unseeded
                 Generator; here graph k of pattern m in split s draws from a
                 Generator seeded [SEED, 3, s, m, k] (PATTERN) and graph i of
                 split s from [SEED, 4, s, i] (CLUSTER), so they are fixed by
                 the seed and the graph, and a tiny record still equals its
                 full record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from research.data.sbm import generator as gen
from research.graph import encodings, expander

PE_DIM = 16  # Laplacian eigenpairs kept, as in GraphGPS's PATTERN / CLUSTER configs
# Eigenpairs of the symmetric normalised Laplacian kept after the trivial one: the Graph Transformer's LapPE
# (graphdeeplearning/graphtransformer, data/SBMs.py `laplacian_positional_encoding`: I - D^-1/2 A D^-1/2 with
# degrees clipped to >= 1, eigenvalues ascending, the first eigenvector dropped, the next pos_enc_dim kept) for
# the largest pos_enc_dim of its SBM configs: 10 (CLUSTER; PATTERN uses 2), configs/SBMs_GraphTransformer_LapPE_*.
LAP_SYM_PE_DIM = 10
SEED = 2020  # every graph follows from it, see the generator's docstring
# Expander permutations per graph (Exphormer's exp_deg in configs/Exphormer/{pattern,cluster}.yaml of
# hamed1375/Exphormer @1b43962; the March-2023 PATTERN config had 5). Each node gets 2 d expander edges.
PATTERN_EXPANDER_DEGREE = 7
CLUSTER_EXPANDER_DEGREE = 3
# Generator streams of the expander draws, after the generator's streams 0..2.
_PATTERN_EXPANDER_STREAM, _CLUSTER_EXPANDER_STREAM = 3, 4

_CITATION = """\
@article{dwivedi2023benchmarking,
  title={Benchmarking Graph Neural Networks},
  author={Dwivedi, Vijay Prakash and Joshi, Chaitanya K. and Luu, Anh Tuan and
          Laurent, Thomas and Bengio, Yoshua and Bresson, Xavier},
  journal={JMLR},
  volume={24},
  year={2023}
}
"""
_HOMEPAGE = "https://github.com/graphdeeplearning/benchmarking-gnns"


@dataclasses.dataclass(eq=False)
class PatternConfig(tfds.core.BuilderConfig):
  """PATTERN sizes: `num_patterns` patterns, each planted in (train, val, test) graphs."""

  num_patterns: int = gen.PATTERN_NUM_PATTERNS
  graphs_per_pattern: tuple[int, int, int] = tuple(gen.PATTERN_GRAPHS_PER_PATTERN[s] for s in gen.SPLITS)
  expander_degree: int = PATTERN_EXPANDER_DEGREE


@dataclasses.dataclass(eq=False)
class ClusterConfig(tfds.core.BuilderConfig):
  """CLUSTER sizes: the number of (train, val, test) graphs."""

  num_graphs: tuple[int, int, int] = tuple(gen.CLUSTER_NUM_GRAPHS[s] for s in gen.SPLITS)
  expander_degree: int = CLUSTER_EXPANDER_DEGREE


def pattern_expander_rng(split: str, pattern: int, index: int) -> np.random.Generator:
  """The Generator of the expander edges of graph `index` of `pattern` in a PATTERN split."""
  return np.random.default_rng([SEED, _PATTERN_EXPANDER_STREAM, gen.SPLITS.index(split), pattern, index])


def cluster_expander_rng(split: str, index: int) -> np.random.Generator:
  """The Generator of the expander edges of graph `index` of a CLUSTER split."""
  return np.random.default_rng([SEED, _CLUSTER_EXPANDER_STREAM, gen.SPLITS.index(split), index])


def make_record(
  graph: gen.SbmGraph,
  graph_id: int,
  vocab_size: int,
  *,
  expander_degree: int,
  expander_rng: np.random.Generator,
) -> dict[str, np.ndarray]:
  """The stored record of one generated graph: one-hot inputs, unit edge features, LapPEs and expander edges."""
  n = graph.num_nodes
  eigvec, eigval = encodings.laplacian_pe(
    graph.senders, graph.receivers, n, PE_DIM, normalization="none", skip_trivial=False
  )
  sym_eigvec, sym_eigval = encodings.laplacian_pe(
    graph.senders, graph.receivers, n, LAP_SYM_PE_DIM, normalization="sym", skip_trivial=True
  )
  expander_senders, expander_receivers = expander.expander_edges(n, expander_degree, expander_rng)
  return {
    "graph_id": np.int32(graph_id),
    "num_nodes": np.int32(n),
    "senders": graph.senders,
    "receivers": graph.receivers,
    "node_features": np.eye(vocab_size, dtype=np.float32)[graph.node_inputs],
    "edge_features": np.ones((len(graph.senders), 1), np.float32),
    "node_labels": graph.node_labels,
    "lap_eigvec": eigvec,
    "lap_eigval": eigval,
    "lap_sym_eigvec": sym_eigvec,
    "lap_sym_eigval": sym_eigval,
    "expander_senders": expander_senders,
    "expander_receivers": expander_receivers,
  }


def _features(vocab_size: int) -> tfds.features.FeaturesDict:
  def tensor(shape: tuple[int | None, ...], dtype: type[np.generic]) -> tfds.features.Tensor:
    # Raw bytes: an order of magnitude faster to write and read than TFDS's
    # default per-element proto lists (ArrayRecord compresses the files).
    return tfds.features.Tensor(shape=shape, dtype=dtype, encoding=tfds.features.Encoding.BYTES)

  return tfds.features.FeaturesDict(
    {
      "graph_id": tfds.features.Scalar(np.int32),
      "num_nodes": tfds.features.Scalar(np.int32),
      "senders": tensor(shape=(None,), dtype=np.int32),
      "receivers": tensor(shape=(None,), dtype=np.int32),
      "node_features": tensor(shape=(None, vocab_size), dtype=np.float32),
      "edge_features": tensor(shape=(None, 1), dtype=np.float32),
      "node_labels": tensor(shape=(None,), dtype=np.int32),
      "lap_eigvec": tensor(shape=(None, PE_DIM), dtype=np.float32),
      "lap_eigval": tensor(shape=(PE_DIM,), dtype=np.float32),
      "lap_sym_eigvec": tensor(shape=(None, LAP_SYM_PE_DIM), dtype=np.float32),
      "lap_sym_eigval": tensor(shape=(LAP_SYM_PE_DIM,), dtype=np.float32),
      "expander_senders": tensor(shape=(None,), dtype=np.int32),
      "expander_receivers": tensor(shape=(None,), dtype=np.int32),
    }
  )


class _SbmBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """What both builders share: ArrayRecord by default, records in graph_id order."""

  VERSION = tfds.core.Version("1.2.0")
  RELEASE_NOTES = {
    "1.0.0": "Initial release.",
    "1.1.0": (
      "Exphormer's expander edges (expander_senders, expander_receivers): 'Random-d' with the builder "
      "config's expander_degree (PATTERN 7, CLUSTER 3), seeded per graph. Other fields unchanged."
    ),
    "1.2.0": (
      f"The Graph Transformer's LapPE (lap_sym_eigvec, lap_sym_eigval): {LAP_SYM_PE_DIM} eigenpairs of the "
      "symmetric normalised Laplacian after the trivial one. Other fields unchanged."
    ),
  }
  # TFDS derives code_path through `importlib_resources`, a backport that is not
  # installed on Python >= 3.9; giving the path directly avoids that import.
  code_path = epath.Path(__file__)
  _VOCAB_SIZE: int

  def __init__(self, *, file_format: str | None = "array_record", **kwargs):
    """Defaults to ArrayRecord, the format `tfds.data_source` reads without TensorFlow."""
    super().__init__(file_format=file_format, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
      builder=self,
      description=gen.__doc__,
      features=_features(self._VOCAB_SIZE),
      disable_shuffling=True,  # records keep graph_id order within a split
      homepage=_HOMEPAGE,
      citation=_CITATION,
    )

  def _generate_examples(
    self, graphs: Iterator[tuple[gen.SbmGraph, np.random.Generator]]
  ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Records of (graph, expander Generator) pairs, in order."""
    degree = self.builder_config.expander_degree
    for graph_id, (graph, rng) in enumerate(graphs):
      yield graph_id, make_record(graph, graph_id, self._VOCAB_SIZE, expander_degree=degree, expander_rng=rng)


class Pattern(_SbmBuilder):
  """PATTERN: find the nodes of a planted subgraph in an SBM graph (2 classes)."""

  _VOCAB_SIZE = gen.PATTERN_VOCAB_SIZE
  BUILDER_CONFIGS = [
    PatternConfig(
      name="full",
      description=(
        "The paper's sizes: 100 patterns x (100, 20, 20) graphs = 10,000 / 2,000 / 2,000; expander edges "
        f"from {PATTERN_EXPANDER_DEGREE} permutations (Exphormer's exp_deg)."
      ),
    ),
    PatternConfig(
      name="tiny",
      description=(
        "Smoke-test sizes: 4 patterns x (16, 4, 4) graphs = 64 / 16 / 16, the full config's graphs of "
        f"patterns 0..3; expander edges from {PATTERN_EXPANDER_DEGREE} permutations."
      ),
      num_patterns=4,
      graphs_per_pattern=(16, 4, 4),
    ),
  ]

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> Mapping[str, Iterator]:
    del dl_manager  # generated, nothing to download
    config = self.builder_config
    patterns = gen.make_patterns(SEED, config.num_patterns)

    def graphs(split: str, per_pattern: int) -> Iterator[tuple[gen.SbmGraph, np.random.Generator]]:
      rngs = (pattern_expander_rng(split, m, k) for m in range(len(patterns)) for k in range(per_pattern))
      return zip(gen.pattern_split(SEED, split, patterns, per_pattern), rngs, strict=True)

    return {
      split: self._generate_examples(graphs(split, per_pattern))
      for split, per_pattern in zip(gen.SPLITS, config.graphs_per_pattern)
    }


class Cluster(_SbmBuilder):
  """CLUSTER: recover the SBM community of every node from one hint per community (6 classes)."""

  _VOCAB_SIZE = gen.CLUSTER_VOCAB_SIZE
  BUILDER_CONFIGS = [
    ClusterConfig(
      name="full",
      description=(
        "The paper's sizes: 10,000 / 1,000 / 1,000 graphs; expander edges from "
        f"{CLUSTER_EXPANDER_DEGREE} permutations (Exphormer's exp_deg)."
      ),
    ),
    ClusterConfig(
      name="tiny",
      description=(
        "Smoke-test sizes: 64 / 16 / 16 graphs, the first graphs of the full config's splits; expander "
        f"edges from {CLUSTER_EXPANDER_DEGREE} permutations."
      ),
      num_graphs=(64, 16, 16),
    ),
  ]

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> Mapping[str, Iterator]:
    del dl_manager  # generated, nothing to download

    def graphs(split: str, num_graphs: int) -> Iterator[tuple[gen.SbmGraph, np.random.Generator]]:
      rngs = (cluster_expander_rng(split, i) for i in range(num_graphs))
      return zip(gen.cluster_split(SEED, split, num_graphs), rngs, strict=True)

    return {
      split: self._generate_examples(graphs(split, num_graphs))
      for split, num_graphs in zip(gen.SPLITS, self.builder_config.num_graphs)
    }
