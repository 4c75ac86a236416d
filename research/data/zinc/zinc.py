"""ZINC molecular graphs (Benchmarking GNNs), read from the released pickle files.

Data. ZINC holds 249,456 molecules from the ZINC database (up to 38 heavy
atoms, about 23 on average); the task is to regress their constrained
solubility, y = logP - SAS - (number of cycles with more than six atoms). The
files are those PyTorch Geometric and Benchmarking GNNs use: `molecules.zip`,
holding `molecules/{train,val,test}.pickle`, each a pickled list of dicts of
torch tensors,

  num_atom                  int, the number of atoms n
  atom_type                 [n] atom type ids, see NODE_VOCAB
  bond_type                 [n, n] bond type ids, 0 where there is no bond, see EDGE_VOCAB
  logP_SA_cycle_normalized  the target, a one-element float tensor

and `{train,val,test}.index`, one line of comma-separated positions in the
matching pickle that select Benchmarking GNNs' 12k subset. The pickles are read
without torch by a restricted unpickler (torch_pickle.py).

Configs. "subset" (the 12k graphs papers report: 10,000 / 1,000 / 1,000),
"full" (all of them: 220,011 / 24,445 / 5,000) and "subset_paths" (the 12k
subset with Graphormer's pair fields, see below), each with splits "train",
"val" and "test". "tiny" and "tiny_paths" are "subset" and "subset_paths" of
the 20-molecule fixture that the package ships in tiny/ (TINY_DIR; 6 / 2 / 2
molecules selected): not ZINC, but files in its released format that smoke
runs and tests build from with no download; they ignore the manual directory.

Records. Record i of a split is the molecule PyTorch Geometric's
`ZINC(subset=..., split=...)[i]` holds: for "subset" and "subset_paths" the
i-th position of the index file, for "full" the i-th molecule of the pickle.
Each has

  graph_id       int32, the molecule's position in its split's pickle
  num_nodes      int32, n
  senders, receivers  int32 [E], every bond in both directions (the non-zero
                 entries of the symmetric bond_type matrix), sorted by
                 (sender, receiver)
  node_features  int32 [n, 1] atom type ids in [0, 28)
  edge_features  int32 [E, 1] bond type ids in [1, 4) (0, "no bond", never occurs
                 on an edge but keeps GraphGPS's 4-entry edge embedding table)
  label          float32, the target
  rwse           float32 [n, 20] random-walk return probabilities for 1..20
                 steps (GraphGPS's ZINC RWSE)
  lap_eigvec     float32 [n, 16], lap_eigval float32 [16]: unit eigenvectors
                 of the combinatorial Laplacian D - A, smallest eigenvalue
                 first, trivial one kept (GraphGPS's `laplacian_norm: none`,
                 `eigvec_norm: L2`), zero-padded where n < 16 (GraphGPS pads
                 with NaN)
  lap_sym_eigvec float32 [n, 16], lap_sym_eigval float32 [16]: the same for
                 the symmetric normalised Laplacian I - D^-1/2 A D^-1/2
                 (degrees clipped to >= 1), trivial eigenpair kept,
                 zero-padded where n < 16. These are SAN's eigenpairs
                 (`laplace_decomp` in its data/molecules.py): SAN keeps the
                 first m = 10 (configs/ZINC/optimized), pads with NaN where
                 n < m and scales each node's row of eigenvector entries to
                 unit norm, which its model (research/models/graph/san.py)
                 does here

"subset_paths" records also hold Graphormer's pair fields
(research/graph/shortest_paths.py, as v1.0's `preprocess_item` computes them):

  spd            int16 [n, n] shortest-path hop counts (0 on the diagonal,
                 510 if unreachable)
  path_edges     int16 [n, n, 20] ids, into this record's edge list, of the
                 edges along the shortest path from i to j that Graphormer
                 picks, hop by hop, for the first 20 hops (v1.0's ZINC
                 `--multi_hop_max_dist 20`, examples/benchmarking-gnns);
                 -1 past the path's end, on the diagonal and if unreachable

Why a separate config: `pad_graphs` collates every pair field a record holds,
so in "subset" they would cost every other model a [B, 38, 38, 20] array per
batch, and 22 KB per molecule in memory when the records are cached (270 MB
for the subset). On disk they add about 1.7 KB per molecule after ArrayRecord's
compression (measured on ZINC-sized molecule-like graphs): about 20 MB for the
subset, about 0.45 GB for the 249,456 molecules of "full"; decoded, "full"
would hold 5.6 GB of them. No full-size config with paths is offered; every
ZINC result Graphormer reports is on the subset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from research.data.prepare import ManualDirBuilder
from research.data.zinc import torch_pickle
from research.errors import DataError
from research.graph import encodings, shortest_paths

DOWNLOAD_URL = "https://www.dropbox.com/s/feo9qle74kg48gy/molecules.zip?dl=1"
INDEX_URL = "https://raw.githubusercontent.com/graphdeeplearning/benchmarking-gnns/master/data/molecules/{split}.index"
SPLITS = ("train", "val", "test")
NUM_GRAPHS = {
  "subset": {"train": 10_000, "val": 1_000, "test": 1_000},
  "full": {"train": 220_011, "val": 24_445, "test": 5_000},
  "tiny": {"train": 6, "val": 2, "test": 2},
}
TINY_DIR = epath.Path(__file__).parent / "tiny"  # the shipped fixture that "tiny" and "tiny_paths" read
# Atom types by id: element, explicit hydrogens, charge (from the dataset's atom_dict).
NODE_VOCAB = (
    "C", "O", "N", "F", "C H1", "S", "Cl", "O -", "N H1 +", "Br", "N H3 +", "N H2 +", "N +", "N -",
    "S -", "I", "P", "O H1 +", "N H1 -", "O +", "S +", "P H1", "P H2", "C H2 -", "P +", "S H1 +",
    "C H1 -", "P H1 +",
)  # fmt: skip
# Bond types by id; 0 marks "no bond" in the bond_type matrix.
EDGE_VOCAB = ("NONE", "SINGLE", "DOUBLE", "TRIPLE")
# Laplacian eigenpairs stored, of each Laplacian. GraphGPS's ZINC configs use the first 1 (LapPE) or 8
# (ESLapPE) of the combinatorial one, SAN's the first 10 of the normalised one.
PE_DIM = 16
RWSE_DIM = 20  # random-walk lengths 1..20, as in GraphGPS's ZINC RWSE configs.
PATH_HOPS = 20  # hops of path_edges: Graphormer v1.0's ZINC `--multi_hop_max_dist 20`
LABEL_KEY = "logP_SA_cycle_normalized"
_ZIP_NAME = "molecules.zip"
_FOLDER = "molecules"

MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Download molecules.zip, the file PyTorch Geometric and Benchmarking GNNs use:
  curl -L -o molecules.zip '{DOWNLOAD_URL}'
and put it in the manual directory (`<data_dir>/downloads/manual/` unless you
pass another), either as molecules.zip or extracted, so that
`<manual_dir>/molecules/train.pickle` exists. The "subset" config also needs
Benchmarking GNNs' index files train.index, val.index and test.index; if your
molecules.zip lacks them, put them in `<manual_dir>/molecules/`:
""" + "".join(f"  {INDEX_URL.format(split=split)}\n" for split in SPLITS)

_CITATION = """\
@article{dwivedi2023benchmarking,
  title={Benchmarking Graph Neural Networks},
  author={Dwivedi, Vijay Prakash and Joshi, Chaitanya K. and Luu, Anh Tuan and
          Laurent, Thomas and Bengio, Yoshua and Bresson, Xavier},
  journal={JMLR},
  year={2023}
}
@article{gomez2018automatic,
  title={Automatic Chemical Design Using a Data-Driven Continuous Representation of Molecules},
  author={G{\\'o}mez-Bombarelli, Rafael and others},
  journal={ACS Central Science},
  year={2018}
}
"""


class ManualFiles:
  """The released files in a manual directory, extracted or inside molecules.zip.

  A file `name` is looked for as `<manual_dir>/molecules/<name>`, then
  `<manual_dir>/<name>`, then as a member `.../<name>` of
  `<manual_dir>/molecules.zip` (preferring `molecules/<name>`).
  """

  def __init__(self, manual_dir: epath.PathLike):
    self.manual_dir = epath.Path(manual_dir)
    self._zip_path = self.manual_dir / _ZIP_NAME
    self._members: dict[str, str] = {}
    if self._zip_path.exists():
      try:
        with self._zip_path.open("rb") as f, zipfile.ZipFile(f) as archive:
          names = sorted(archive.namelist(), key=lambda n: (n != f"{_FOLDER}/{os.path.basename(n)}", n))
      except zipfile.BadZipFile as e:
        raise DataError(
          f"{self._zip_path} is not a valid zip archive ({e}); re-download it from {DOWNLOAD_URL}."
        ) from e
      for name in names:
        if not name.endswith("/") and not name.startswith("__MACOSX/"):
          self._members.setdefault(os.path.basename(name), name)

  def _extracted(self, name: str) -> epath.Path | None:
    for path in (self.manual_dir / _FOLDER / name, self.manual_dir / name):
      if path.is_file():
        return path
    return None

  def where(self, name: str) -> str | None:
    """A readable location of `name` (a path, or `zip:member`), or None if absent."""
    if (path := self._extracted(name)) is not None:
      return os.fspath(path)
    if name in self._members:
      return f"{self._zip_path}:{self._members[name]}"
    return None

  @contextlib.contextmanager
  def open(self, name: str) -> Iterator[BinaryIO]:
    """Opens `name` for binary reading."""
    if (path := self._extracted(name)) is not None:
      with path.open("rb") as f:
        yield f
    elif name in self._members:
      with self._zip_path.open("rb") as f, zipfile.ZipFile(f) as archive, archive.open(self._members[name]) as member:
        yield member
    else:
      raise DataError(missing_files_message(self.manual_dir, [name]))


def missing_files_message(manual_dir: epath.PathLike, missing: Sequence[str]) -> str:
  """What to download, and where to put it, when `missing` files are not in `manual_dir` (one command a line)."""
  manual_dir = epath.Path(manual_dir)
  looked = f"looked in {_FOLDER}/, the directory itself and {_ZIP_NAME}" if manual_dir.is_dir() else "it does not exist"
  lines = [
    f"ZINC needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not in the manual directory "
    f"{manual_dir} ({looked}).",
  ]
  if any(name.endswith(".pickle") for name in missing):
    lines += [
      "Download molecules.zip (the file PyTorch Geometric and Benchmarking GNNs use) into that directory; it may "
      f"stay zipped or be extracted there so that {manual_dir / _FOLDER / 'train.pickle'} exists:",
      f"  mkdir -p {manual_dir} && curl -L -o {manual_dir / _ZIP_NAME} '{DOWNLOAD_URL}'",
    ]
  indices = [name for name in missing if name.endswith(".index")]
  if indices:
    target = manual_dir / _FOLDER
    downloads = [f"curl -L -o {target / name} '{INDEX_URL.format(split=name[: -len('.index')])}'" for name in indices]
    lines += [
      f"The 12k subset's index files come from Benchmarking GNNs; put them in {target}/:",
      "  " + " && ".join([f"mkdir -p {target}", *downloads]),
    ]
  return "\n".join(lines)


def read_molecules(files: ManualFiles, split: str) -> list[Any]:
  """The molecules of `<split>.pickle`, tensors as numpy arrays."""
  name = f"{split}.pickle"
  where = files.where(name) or name
  with files.open(name) as f:
    molecules = torch_pickle.load(f, name=where)
  if not isinstance(molecules, list):
    raise DataError(f"{where} holds a {type(molecules).__name__}, not a list of molecules; re-download {DOWNLOAD_URL}.")
  return molecules


def read_index(files: ManualFiles, split: str, num_molecules: int) -> list[int]:
  """The positions that `<split>.index` selects from a pickle of `num_molecules` molecules."""
  name = f"{split}.index"
  where = files.where(name) or name
  with files.open(name) as f:
    text = f.read().decode("ascii", errors="replace")
  fix = f"An index file is one line of comma-separated integers; re-download it from {INDEX_URL.format(split=split)}."
  if not text.strip():
    raise DataError(f"{where} is empty. {fix}")
  ids = []
  for token in text.strip().split(","):
    try:
      ids.append(int(token))
    except ValueError:
      raise DataError(f"{where}: {token[:40]!r} is not an integer. {fix}") from None
  if bad := [i for i in ids if not 0 <= i < num_molecules]:
    raise DataError(
      f"{where}: index {bad[0]} is out of range for {split}.pickle, which holds {num_molecules} molecules; "
      "the index and pickle files must come from the same release."
    )
  if len(set(ids)) != len(ids):
    raise DataError(f"{where} lists some molecules more than once. {fix}")
  return ids


def _type_ids(value: Any, shape: tuple[int, ...], vocab: Sequence[str], what: str) -> np.ndarray:
  """Checks an array of category ids (integral values in [0, len(vocab))) -> int32."""
  array = np.asarray(value)
  if array.shape != shape:
    raise DataError(f"{what} has shape {array.shape}, expected {shape}")
  if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
    raise DataError(f"{what} has dtype {array.dtype}, expected integer ids")
  if array.size and (np.any(array != np.round(array)) or array.min() < 0 or array.max() >= len(vocab)):
    values = np.unique(array).tolist()
    raise DataError(f"{what} holds values outside the {len(vocab)} ids 0..{len(vocab) - 1}: {values}")
  return array.astype(np.int32)


def to_record(molecule: Any, graph_id: int, *, where: str, paths: bool = False) -> dict[str, np.ndarray]:
  """One pickled molecule -> its TFDS record; `where` names the file in errors; `paths` adds spd and path_edges."""
  what = f"{where}, molecule {graph_id}"
  if not isinstance(molecule, Mapping):
    raise DataError(f"{what} is a {type(molecule).__name__}, not a dict")
  missing = [key for key in ("atom_type", "bond_type", LABEL_KEY) if key not in molecule]
  if missing:
    raise DataError(f"{what} lacks the key(s) {missing}; it has {sorted(map(str, molecule))}")
  atoms = np.asarray(molecule["atom_type"])
  if atoms.ndim == 2 and atoms.shape[1:] == (1,):
    atoms = atoms[:, 0]
  n = atoms.shape[0] if atoms.ndim == 1 else -1
  if n < 0:
    raise DataError(f"{what}: atom_type has shape {atoms.shape}, expected [num_atoms]")
  if "num_atom" in molecule and np.asarray(molecule["num_atom"]).tolist() not in (n, [n]):
    raise DataError(f"{what}: num_atom is {molecule['num_atom']!r} but atom_type has {n} entries")
  atoms = _type_ids(atoms, (n,), NODE_VOCAB, f"{what}: atom_type")
  bonds = _type_ids(molecule["bond_type"], (n, n), EDGE_VOCAB, f"{what}: bond_type")
  if np.any(bonds != bonds.T) or np.any(np.diagonal(bonds)):
    raise DataError(f"{what}: bond_type is not a symmetric matrix with a zero diagonal")
  label = np.asarray(molecule[LABEL_KEY])
  if label.size != 1 or not (np.issubdtype(label.dtype, np.floating) or np.issubdtype(label.dtype, np.integer)):
    raise DataError(f"{what}: {LABEL_KEY} is {label.dtype} of shape {label.shape}, expected one number")
  if not np.isfinite(label).all():
    raise DataError(f"{what}: {LABEL_KEY} is {label.reshape(-1)[0]}, expected a finite number")
  senders, receivers = np.nonzero(bonds)  # row-major: sorted by (sender, receiver)
  senders, receivers = senders.astype(np.int32), receivers.astype(np.int32)
  eigvec, eigval = encodings.laplacian_pe(senders, receivers, n, PE_DIM, normalization="none", skip_trivial=False)
  sym_eigvec, sym_eigval = encodings.laplacian_pe(
    senders, receivers, n, PE_DIM, normalization="sym", skip_trivial=False
  )
  record = {
    "graph_id": np.int32(graph_id),
    "num_nodes": np.int32(n),
    "senders": senders,
    "receivers": receivers,
    "node_features": atoms[:, None],
    "edge_features": bonds[senders, receivers][:, None],
    "label": np.float32(label.reshape(())),
    "rwse": encodings.rwse(senders, receivers, n, RWSE_DIM),
    "lap_eigvec": eigvec,
    "lap_eigval": eigval,
    "lap_sym_eigvec": sym_eigvec,
    "lap_sym_eigval": sym_eigval,
  }
  if paths:  # a molecule has at most 4 * 38 directed bonds: int16 edge ids
    record["spd"] = shortest_paths.shortest_path_distances(senders, receivers, n)
    record["path_edges"] = shortest_paths.shortest_path_edges(senders, receivers, n, PATH_HOPS).astype(np.int16)
  return record


@dataclasses.dataclass(eq=False)
class ZincConfig(tfds.core.BuilderConfig):
  """Which molecules (`subset`: Benchmarking GNNs' 12k, else all), whether records hold spd / path_edges, and
  whether they come from the shipped fixture (`tiny`) instead of the manual directory."""

  subset: bool = True
  paths: bool = False
  tiny: bool = False


class Zinc(ManualDirBuilder):
  """ZINC constrained solubility regression: the 12k subset and the full 250k."""

  VERSION = tfds.core.Version("1.1.0")
  RELEASE_NOTES = {
    "1.0.0": "Initial release.",
    "1.1.0": (
      "lap_sym_eigvec / lap_sym_eigval: the first 16 eigenpairs of the symmetric normalised Laplacian, "
      "trivial one kept (SAN's LPE). New config subset_paths: the 12k subset with Graphormer's spd and "
      "path_edges (20 hops). Existing fields are unchanged."
    ),
  }
  BUILDER_CONFIGS = [
    ZincConfig(name="subset", description="Benchmarking GNNs' 12k subset: 10,000 / 1,000 / 1,000 graphs."),
    ZincConfig(name="full", subset=False, description="All 249,456 graphs: 220,011 / 24,445 / 5,000."),
    ZincConfig(
      name="subset_paths",
      paths=True,
      description="The 12k subset with Graphormer's shortest-path distances and path edges (20 hops).",
    ),
    ZincConfig(
      name="tiny",
      tiny=True,
      description="Smoke runs: the 6 / 2 / 2 molecules of the fixture shipped in zinc/tiny/ (not ZINC).",
    ),
    ZincConfig(
      name="tiny_paths",
      tiny=True,
      paths=True,
      description="Smoke runs: the shipped fixture's 6 / 2 / 2 molecules with spd and path_edges (not ZINC).",
    ),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
  # TFDS derives code_path through `importlib_resources`, a backport that is not
  # installed on Python >= 3.9; giving the path directly avoids that import.
  code_path = epath.Path(__file__)

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
          "node_features": tensor(shape=(None, 1), dtype=np.int32),
          "edge_features": tensor(shape=(None, 1), dtype=np.int32),
          "label": tfds.features.Scalar(np.float32),
          "rwse": tensor(shape=(None, RWSE_DIM), dtype=np.float32),
          "lap_eigvec": tensor(shape=(None, PE_DIM), dtype=np.float32),
          "lap_eigval": tensor(shape=(PE_DIM,), dtype=np.float32),
          "lap_sym_eigvec": tensor(shape=(None, PE_DIM), dtype=np.float32),
          "lap_sym_eigval": tensor(shape=(PE_DIM,), dtype=np.float32),
          **(self._path_features() if self.builder_config.paths else {}),
        }
      ),
      disable_shuffling=True,  # record i of a split is PyG's ZINC(split)[i]
      homepage="https://github.com/graphdeeplearning/benchmarking-gnns",
      citation=_CITATION,
    )

  @staticmethod
  def _path_features() -> dict[str, tfds.features.Tensor]:
    # Two unknown dimensions need a bytes encoding; ArrayRecord compresses the records.
    tensor = functools.partial(tfds.features.Tensor, dtype=np.int16, encoding=tfds.features.Encoding.BYTES)
    return {"spd": tensor(shape=(None, None)), "path_edges": tensor(shape=(None, None, PATH_HOPS))}

  def _needed_files(self) -> list[str]:
    names = [f"{split}.pickle" for split in SPLITS]
    if self.builder_config.subset:
      names += [f"{split}.index" for split in SPLITS]
    return names

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> Mapping[str, Iterator]:
    files = ManualFiles(TINY_DIR if self.builder_config.tiny else self.manual_directory())
    missing = [name for name in self._needed_files() if files.where(name) is None]
    if missing:
      raise DataError(missing_files_message(files.manual_dir, missing))
    return {split: self._generate_examples(files, split) for split in SPLITS}

  def _generate_examples(self, files: ManualFiles, split: str) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    molecules = read_molecules(files, split)
    where = files.where(f"{split}.pickle")
    if self.builder_config.subset:
      ids = read_index(files, split, len(molecules))
    else:
      ids = range(len(molecules))
    for position, graph_id in enumerate(ids):
      yield position, to_record(molecules[graph_id], graph_id, where=where, paths=self.builder_config.paths)
