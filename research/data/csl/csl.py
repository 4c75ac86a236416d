"""CSL: Circular Skip Link graphs (Murphy et al. 2019), as in Benchmarking GNNs.

Construction. A CSL graph C_41(1, L) is a cycle of 41 nodes in which node i is
also joined to i + L and i - L (mod 41). The skip length L takes one of ten
values, SKIP_LENGTHS, and the class of a graph is the index of its L. Every node
has the four neighbours i +- 1 and i +- L, so each graph is 4-regular with 82
undirected edges, stored in both directions (164 directed edges, sorted by
sender then receiver). Each class holds GRAPHS_PER_CLASS copies of its graph
whose node labels are randomly permuted, 150 graphs in all; graph
`graph_id = class * 15 + copy`.

Why it is hard. 1-WL colour refinement starts from identical colours, and on a
regular graph every node sees the same multiset of neighbour colours at every
round, so refinement stops at once with a single colour class. All ten classes
therefore share one 1-WL colour histogram, and no message-passing GNN that is
bounded by 1-WL (with constant node features) can tell them apart: it scores
10% at best. The graphs are nevertheless pairwise non-isomorphic, and their
Laplacian spectra differ, so Laplacian positional encodings (or RWSE) make the
task solvable.

Features. As in Benchmarking GNNs, every node carries the same feature (type 0,
here a float 0 in a [n, 1] array) and every edge a constant [E, 1] feature of
ones. Per graph we also precompute `lap_eigvec` [n, 20] and `lap_eigval` [20]
(the symmetric normalised Laplacian's non-trivial eigenpairs) and `rwse`
[n, 20] (random-walk return probabilities), see research/graph/encodings.py.

Splits. The paper's 5-fold stratified cross-validation, 3:1:1: for fold k the
test split `test_fold{k}` holds 3 graphs of every class (the five test splits
partition the dataset), `val_fold{k}` 3 further graphs per class drawn from the
remaining 12, and `train_fold{k}` the other 9 per class (90 / 30 / 30 graphs).

Everything (node permutations and folds) follows from SEED, so two builds give
identical records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from research.graph import encodings

NUM_NODES = 41
SKIP_LENGTHS = (2, 3, 4, 5, 6, 9, 11, 12, 13, 16)
NUM_CLASSES = len(SKIP_LENGTHS)
GRAPHS_PER_CLASS = 15
NUM_GRAPHS = NUM_CLASSES * GRAPHS_PER_CLASS
NUM_FOLDS = 5
PE_DIM = 20  # Laplacian eigenvectors kept, as in Benchmarking GNNs' CSL runs.
RWSE_DIM = 20  # random-walk lengths 1..20.
# Seeds the node permutations ([SEED, 0]) and the folds ([SEED, 1]).
SEED = 41

_CITATION = """\
@inproceedings{murphy2019relational,
  title={Relational Pooling for Graph Representations},
  author={Murphy, Ryan and Srinivasan, Balasubramaniam and Rao, Vinayak and Ribeiro, Bruno},
  booktitle={ICML},
  year={2019}
}
@article{dwivedi2023benchmarking,
  title={Benchmarking Graph Neural Networks},
  author={Dwivedi, Vijay Prakash and Joshi, Chaitanya K. and Luu, Anh Tuan and
          Laurent, Thomas and Bengio, Yoshua and Bresson, Xavier},
  journal={JMLR},
  year={2023}
}
"""


def split_names(fold: int) -> tuple[str, str, str]:
  """The (train, val, test) split names of one cross-validation fold."""
  if not 0 <= fold < NUM_FOLDS:
    raise ValueError(f"fold={fold} is out of range; CSL has folds 0..{NUM_FOLDS - 1}.")
  return f"train_fold{fold}", f"val_fold{fold}", f"test_fold{fold}"


def circulant_edges(num_nodes: int, skip: int) -> tuple[np.ndarray, np.ndarray]:
  """Directed edges of C_n(1, skip), both directions, sorted by (sender, receiver)."""
  nodes = np.arange(num_nodes)
  offsets = np.array([1, -1, skip, -skip])
  senders = np.repeat(nodes, len(offsets))
  receivers = (senders + np.tile(offsets, num_nodes)) % num_nodes
  order = np.lexsort((receivers, senders))
  return senders[order].astype(np.int32), receivers[order].astype(np.int32)


def make_graphs() -> list[dict[str, np.ndarray]]:
  """All 150 CSL graphs with their encodings, ordered by graph_id."""
  rng = np.random.default_rng([SEED, 0])
  graphs = []
  for label, skip in enumerate(SKIP_LENGTHS):
    base_senders, base_receivers = circulant_edges(NUM_NODES, skip)
    for copy in range(GRAPHS_PER_CLASS):
      perm = rng.permutation(NUM_NODES)
      senders, receivers = perm[base_senders], perm[base_receivers]
      order = np.lexsort((receivers, senders))
      senders, receivers = senders[order].astype(np.int32), receivers[order].astype(np.int32)
      eigvec, eigval = encodings.laplacian_pe(senders, receivers, NUM_NODES, PE_DIM)
      graphs.append(
        {
          "graph_id": np.int32(label * GRAPHS_PER_CLASS + copy),
          "num_nodes": np.int32(NUM_NODES),
          "senders": senders,
          "receivers": receivers,
          "node_features": np.zeros((NUM_NODES, 1), np.float32),
          "edge_features": np.ones((len(senders), 1), np.float32),
          "lap_eigvec": eigvec,
          "lap_eigval": eigval,
          "rwse": encodings.rwse(senders, receivers, NUM_NODES, RWSE_DIM),
          "label": np.int64(label),
        }
      )
  return graphs


def make_folds() -> dict[str, np.ndarray]:
  """Stratified 5-fold CV: split name -> sorted graph ids."""
  rng = np.random.default_rng([SEED, 1])
  per_fold = GRAPHS_PER_CLASS // NUM_FOLDS  # 3 test (and 3 val) graphs per class
  folds: dict[str, list[np.ndarray]] = {}
  for label in range(NUM_CLASSES):
    ids = label * GRAPHS_PER_CLASS + rng.permutation(GRAPHS_PER_CLASS)
    chunks = ids.reshape(NUM_FOLDS, per_fold)
    for fold in range(NUM_FOLDS):
      train, val, test = split_names(fold)
      rest = rng.permutation(np.delete(chunks, fold, axis=0).reshape(-1))
      folds.setdefault(test, []).append(chunks[fold])
      folds.setdefault(val, []).append(rest[:per_fold])
      folds.setdefault(train, []).append(rest[per_fold:])
  return {name: np.sort(np.concatenate(parts)) for name, parts in folds.items()}


class Csl(tfds.core.GeneratorBasedBuilder):
  """Circular Skip Link graphs, 10 classes, 5-fold stratified CV splits."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  # TFDS derives code_path through `importlib_resources`, a backport that is not
  # installed on Python >= 3.9; giving the path directly avoids that import.
  code_path = epath.Path(__file__)

  def __init__(self, *, file_format: str | None = "array_record", **kwargs):
    """Defaults to ArrayRecord, the format `tfds.data_source` reads without TensorFlow."""
    super().__init__(file_format=file_format, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    tensor = tfds.features.Tensor
    return tfds.core.DatasetInfo(
      builder=self,
      description=__doc__,
      features=tfds.features.FeaturesDict(
        {
          "graph_id": tfds.features.Scalar(np.int32),
          "num_nodes": tfds.features.Scalar(np.int32),
          "senders": tensor(shape=(None,), dtype=np.int32),
          "receivers": tensor(shape=(None,), dtype=np.int32),
          "node_features": tensor(shape=(None, 1), dtype=np.float32),
          "edge_features": tensor(shape=(None, 1), dtype=np.float32),
          "lap_eigvec": tensor(shape=(None, PE_DIM), dtype=np.float32),
          "lap_eigval": tensor(shape=(PE_DIM,), dtype=np.float32),
          "rwse": tensor(shape=(None, RWSE_DIM), dtype=np.float32),
          "label": tfds.features.ClassLabel(names=[f"skip_{skip}" for skip in SKIP_LENGTHS]),
        }
      ),
      disable_shuffling=True,  # records keep graph_id order within a split
      homepage="https://github.com/graphdeeplearning/benchmarking-gnns",
      citation=_CITATION,
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> Mapping[str, Iterator]:
    del dl_manager  # generated, nothing to download
    graphs = make_graphs()
    return {name: self._generate_examples(graphs, ids) for name, ids in make_folds().items()}

  def _generate_examples(self, graphs: list[dict[str, np.ndarray]], ids: np.ndarray) -> Iterator[tuple[int, dict]]:
    for graph_id in ids:
      yield int(graph_id), graphs[graph_id]
