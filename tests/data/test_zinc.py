"""Tests for the ZINC TFDS builder and its torch-free unpickler (research/data/zinc).

The builder's tests build from the 20-molecule fixture that the package ships (zinc.TINY_DIR), as the
manual directory of the released configs and as the `tiny` configs themselves.
"""

from __future__ import annotations

import os
import pathlib
import pickle
import shutil
import struct
import zipfile

import numpy as np
import pytest
import tensorflow_datasets as tfds

from research.data import zinc
from research.data.zinc import torch_pickle
from research.errors import DataError
from research.graph import batch as batch_lib
from research.graph import encodings, shortest_paths

FIXTURE = zinc.TINY_DIR  # molecules.zip in the released format
TENSOR_FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "zinc"  # the unpickler's tensor pickles
COUNTS = {
  "subset": {"train": 6, "val": 2, "test": 2},
  "full": {"train": 12, "val": 4, "test": 4},
  "subset_paths": {"train": 6, "val": 2, "test": 2},
}
TINY = {"tiny": "subset", "tiny_paths": "subset_paths"}  # the shipped configs and the released config they mirror


def _read_all(data_dir, config: str) -> dict[str, list[dict]]:
  sources = tfds.data_source(f"zinc/{config}", data_dir=os.fspath(data_dir), download=False)
  return {split: [sources[split][i] for i in range(len(sources[split]))] for split in zinc.SPLITS}


def _fixture_member(name: str) -> bytes:
  with zipfile.ZipFile(FIXTURE / "molecules.zip") as archive:
    return archive.read(f"molecules/{name}")


@pytest.fixture(scope="module")
def molecules() -> dict[str, list[dict]]:
  """The fixture's pickled molecules, by split, tensors as numpy arrays."""
  return {s: torch_pickle.loads(_fixture_member(f"{s}.pickle"), name=s) for s in zinc.SPLITS}


@pytest.fixture(scope="module")
def indices() -> dict[str, list[int]]:
  return {s: [int(i) for i in _fixture_member(f"{s}.index").decode().strip().split(",")] for s in zinc.SPLITS}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
  """Every config built from the fixture's molecules.zip (the tiny ones by themselves): config -> split -> records."""
  data_dir = tmp_path_factory.mktemp("tfds")
  for config in COUNTS:
    zinc.prepare(data_dir, config, manual_dir=FIXTURE)
  for config in TINY:
    zinc.prepare(data_dir, config)
  return {config: _read_all(data_dir, config) for config in [*COUNTS, *TINY]}


def _extracted(tmp_path: pathlib.Path) -> pathlib.Path:
  """A manual directory holding the fixture extracted, as `molecules/...`."""
  manual = tmp_path / "manual"
  with zipfile.ZipFile(FIXTURE / "molecules.zip") as archive:
    archive.extractall(manual)
  return manual


# The unpickler.

TENSORS = {
  "int64": np.array([[0, 1, 2], [3, 4, 5]], np.int64),
  "int32": np.array([-7, 2**31 - 1], np.int32),
  "int16": np.array([-300, 300], np.int16),
  "int8": np.array([-5, 5], np.int8),
  "uint8": np.array([7, 255], np.uint8),
  "bool": np.array([True, False, True]),
  "float16": np.array([0.5, -1.25], np.float16),
  "float32": np.array([1.5, -2.25], np.float32),
  "float64": np.array(3.125, np.float64),
  "strided": np.arange(12).reshape(3, 4)[1:, ::2],
  "transposed": np.arange(12).reshape(3, 4).T,
  "empty": np.zeros((0, 3), np.float32),
  "shared_a": np.arange(4),
  "shared_b": np.arange(8, 12),
}


@pytest.mark.parametrize("name", ["tensors_legacy.pickle", "tensors_zip.pickle"])
def test_unpickler_rebuilds_tensors_of_both_torch_save_formats(name):
  with open(TENSOR_FIXTURES / name, "rb") as f:
    loaded = torch_pickle.load(f, name=name)
  assert loaded.keys() == TENSORS.keys()
  for key, expected in TENSORS.items():
    assert isinstance(loaded[key], np.ndarray) and loaded[key].dtype == expected.dtype, key
    np.testing.assert_array_equal(loaded[key], expected, err_msg=key)


class _Exploit:
  def __reduce__(self):
    return os.system, ("echo this must never run",)


def _call_load_from_bytes(blob: bytes) -> bytes:
  """A pickle of `torch.storage._load_from_bytes(blob)`, written opcode by opcode (no torch here)."""
  return b"\x80\x03ctorch.storage\n_load_from_bytes\nB" + struct.pack("<I", len(blob)) + blob + b"\x85R."


@pytest.mark.parametrize(
  "data",
  [
    pickle.dumps(_Exploit()),
    pickle.dumps([{"atom_type": _Exploit()}]),
    _call_load_from_bytes(pickle.dumps(_Exploit())),
  ],
  ids=["top_level", "nested", "inside_a_storage_blob"],
)
def test_unpickler_refuses_other_globals(data):
  message = r"evil\.pickle: refusing to load the global (os|posix)\.system"
  with pytest.raises(torch_pickle.UnsafePickleError, match=message):
    torch_pickle.loads(data, name="evil.pickle")


def _opcodes(value) -> bytes:
  """The protocol-2 opcodes that push `value` (a pickle without its header and STOP)."""
  return pickle.dumps(value, protocol=2)[2:-1]


def _legacy_blob(values: np.ndarray, view=None, count=None) -> bytes:
  """A legacy torch.save blob of one int16 storage, written by hand in the documented layout."""
  little = values.dtype.byteorder != ">"
  header = b"".join(pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": little}))
  storage_id = b"(" + _opcodes("storage") + b"ctorch\nShortStorage\n" + _opcodes("k") + _opcodes("cpu")
  storage_id += _opcodes(len(values)) + _opcodes(view) + b"tQ."  # TUPLE, BINPERSID, STOP
  count = len(values) if count is None else count
  size = struct.pack("<q" if little else ">q", count)
  return header + b"\x80\x02" + storage_id + pickle.dumps(["k"], protocol=2) + size + values.tobytes()


def _tensor_pickle(blob: bytes, size: tuple[int, ...]) -> bytes:
  """A pickle of `torch._utils._rebuild_tensor_v2(_load_from_bytes(blob), 0, size, contiguous stride, ...)`."""
  stride = tuple(int(np.prod(size[i + 1 :])) for i in range(len(size)))
  rebuild = b"ctorch._utils\n_rebuild_tensor_v2\n("
  args = _call_load_from_bytes(blob)[2:-1] + _opcodes(0) + _opcodes(size) + _opcodes(stride) + _opcodes(False)
  return b"\x80\x03" + rebuild + args + b"ccollections\nOrderedDict\n)Rt" + b"R."


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_unpickler_reads_hand_written_legacy_blobs(byteorder):
  values = np.arange(-3, 5, dtype=f"{byteorder}i2")
  loaded = torch_pickle.loads(_tensor_pickle(_legacy_blob(values), (2, 4)), name="legacy.pickle")
  assert loaded.dtype == np.int16 and loaded.dtype.isnative
  np.testing.assert_array_equal(loaded, np.arange(-3, 5).reshape(2, 4))
  view = torch_pickle.loads(_tensor_pickle(_legacy_blob(values, view=("v", 2, 3)), (3,)), name="view.pickle")
  np.testing.assert_array_equal(view, [-1, 0, 1])  # elements [2, 5) of the storage
  with pytest.raises(ValueError, match=r"count\.pickle: storage 'k' holds 9 elements but declares 8"):
    torch_pickle.loads(_tensor_pickle(_legacy_blob(values, count=9), (8,)), name="count.pickle")


def test_unpickler_names_the_file_of_a_truncated_pickle():
  data = (TENSOR_FIXTURES / "tensors_legacy.pickle").read_bytes()
  with pytest.raises(ValueError, match=r"cut\.pickle: cannot be unpickled"):
    torch_pickle.loads(data[: len(data) // 2], name="cut.pickle")


def test_unpickler_names_the_problem_in_a_bad_storage_blob():
  with pytest.raises(ValueError, match=r"blob\.pickle: .*neither the legacy torch.save magic number nor a zip header"):
    torch_pickle.loads(_call_load_from_bytes(pickle.dumps(12345)), name="blob.pickle")


# The builder on the fixture.


def test_vocabularies():
  assert len(zinc.NODE_VOCAB) == 28 and zinc.NODE_VOCAB[:3] == ("C", "O", "N")
  assert zinc.EDGE_VOCAB == ("NONE", "SINGLE", "DOUBLE", "TRIPLE")


@pytest.mark.parametrize("config", sorted(COUNTS))
def test_counts_per_split(built, config):
  assert {split: len(records) for split, records in built[config].items()} == COUNTS[config]


@pytest.mark.parametrize("config", sorted(COUNTS))
def test_records_match_the_pickled_molecules(built, molecules, indices, config):
  for split, records in built[config].items():
    expected_ids = list(range(len(molecules[split]))) if config == "full" else indices[split]
    assert [int(r["graph_id"]) for r in records] == expected_ids  # PyG's order
    for record in records:
      mol = molecules[split][int(record["graph_id"])]
      n = len(mol["atom_type"])
      adj = np.asarray(mol["bond_type"])
      assert int(record["num_nodes"]) == n == mol["num_atom"]
      assert record["node_features"].dtype == np.int32 and record["edge_features"].dtype == np.int32
      np.testing.assert_array_equal(record["node_features"][:, 0], mol["atom_type"])
      pairs = list(zip(record["senders"].tolist(), record["receivers"].tolist()))
      assert pairs == sorted((i, j) for i in range(n) for j in range(n) if adj[i, j])
      assert all((j, i) in set(pairs) for i, j in pairs)  # both directions
      np.testing.assert_array_equal(record["edge_features"][:, 0], [adj[i, j] for i, j in pairs])
      assert set(record["edge_features"][:, 0].tolist()) <= {1, 2, 3}
      assert record["label"] == np.asarray(mol[zinc.LABEL_KEY], np.float32).item()


def test_encodings_follow_graphgps(built):
  for record in built["full"]["train"][:5]:
    n, senders, receivers = int(record["num_nodes"]), record["senders"], record["receivers"]
    assert record["rwse"].shape == (n, 20) and record["lap_eigvec"].shape == (n, 16)
    np.testing.assert_allclose(record["rwse"], encodings.rwse(senders, receivers, n, 20), atol=1e-6)
    adj = encodings.undirected_adjacency(senders, receivers, n)
    lap = np.diag(adj.sum(1)) - adj  # combinatorial, trivial eigenpair kept
    vec, val = record["lap_eigvec"][:, : min(n, 16)], record["lap_eigval"][: min(n, 16)]
    np.testing.assert_allclose(lap @ vec, vec * val, atol=1e-4)
    np.testing.assert_allclose(val, np.linalg.eigvalsh(lap)[:16], atol=1e-4)
    assert abs(val[0]) < 1e-5  # connected molecule: one zero eigenvalue, kept


def test_sym_eigenpairs_follow_san(built):
  # SAN's laplace_decomp: L = I - D^-1/2 A D^-1/2, ascending, trivial pair kept; here zero-padded to 16.
  for record in built["full"]["train"][:5]:
    n = int(record["num_nodes"])
    assert n < 16 and record["lap_sym_eigvec"].shape == (n, 16) and record["lap_sym_eigval"].shape == (16,)
    adj = encodings.undirected_adjacency(record["senders"], record["receivers"], n)
    scale = 1 / np.sqrt(adj.sum(1))
    lap = np.eye(n) - scale[:, None] * adj * scale[None, :]
    vec, val = record["lap_sym_eigvec"][:, :n], record["lap_sym_eigval"][:n]
    np.testing.assert_allclose(lap @ vec, vec * val, atol=1e-4)
    np.testing.assert_allclose(val, np.linalg.eigvalsh(lap), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(vec, axis=0), 1.0, atol=1e-5)
    assert abs(val[0]) < 1e-5  # connected molecule: the trivial eigenpair comes first, kept
    assert not record["lap_sym_eigvec"][:, n:].any() and not record["lap_sym_eigval"][n:].any()


def test_only_subset_paths_holds_graphormers_pair_fields(built):
  for split in zinc.SPLITS:
    for plain, record in zip(built["subset"][split], built["subset_paths"][split], strict=True):
      assert "spd" not in plain and "path_edges" not in plain
      assert plain.keys() == record.keys() - {"spd", "path_edges"}
      for key, value in plain.items():
        np.testing.assert_array_equal(record[key], value, err_msg=key)


def test_pair_fields_are_shortest_paths(built):
  for record in built["subset_paths"]["train"]:
    n, senders, receivers = int(record["num_nodes"]), record["senders"], record["receivers"]
    spd, path = record["spd"], record["path_edges"]
    assert spd.dtype == path.dtype == np.int16
    assert spd.shape == (n, n) and path.shape == (n, n, zinc.PATH_HOPS) == (n, n, 20)
    # Hop counts from powers of the adjacency matrix: d(i, j) is the first k with (A^k)[i, j] > 0.
    adj = encodings.undirected_adjacency(senders, receivers, n) > 0
    reach, expected = np.eye(n, dtype=bool), np.where(np.eye(n, dtype=bool), 0, -1)
    for k in range(1, n):
      reach = (reach.astype(int) @ adj.astype(int)) > 0
      expected = np.where((expected < 0) & reach, k, expected)
    np.testing.assert_array_equal(spd, expected)  # the fixture's molecules are connected
    # Each pair's hops chain from i to j along real edges, then -1 (the fixture's paths are under 20 hops).
    for i in range(n):
      for j in range(n):
        hops = path[i, j, : spd[i, j]]
        assert (hops >= 0).all() and (path[i, j, spd[i, j] :] == -1).all()
        nodes = [i] + receivers[hops].tolist()
        assert senders[hops].tolist() == nodes[:-1] and nodes[-1] == j
    # Among equally short paths, Graphormer's pick.
    np.testing.assert_array_equal(path, shortest_paths.shortest_path_edges(senders, receivers, n, 20))


def test_records_collate_with_pad_graphs(built):
  records = built["subset"]["train"][:3]
  out = batch_lib.pad_graphs(records, max_nodes=40, max_edges=100)
  assert out["node_features"].dtype == np.int32 and out["node_features"].shape == (3, 40, 1)
  assert out["edge_features"].dtype == np.int32 and out["edge_features"].shape == (3, 100, 1)
  assert out["node_mask"].sum() == sum(int(r["num_nodes"]) for r in records)
  np.testing.assert_allclose(out["label"], [r["label"] for r in records])

  records = built["subset_paths"]["train"][:4]
  out = batch_lib.pad_graphs(records, max_nodes=40, max_edges=100, graphs_per_pack=2)
  assert out["spd"].shape == (4, 40, 40) and out["path_edges"].shape == (4, 40, 40, 20)
  n, start = int(records[1]["num_nodes"]), len(records[0]["senders"])  # graph 1's edges follow graph 0's
  np.testing.assert_array_equal(out["spd"][1, :n, :n], records[1]["spd"])
  np.testing.assert_array_equal(
    out["path_edges"][1, :n, :n], np.where(records[1]["path_edges"] >= 0, records[1]["path_edges"] + start, -1)
  )
  assert (out["spd"][1, n:] == -1).all() and (out["path_edges"][1, :, n:] == -1).all()


@pytest.mark.parametrize("layout", ["extracted", "zip_without_index_files"])
def test_other_manual_layouts_give_the_same_subset(tmp_path, built, layout):
  manual = _extracted(tmp_path)
  if layout == "zip_without_index_files":  # index files beside a zip of pickles only
    with zipfile.ZipFile(manual / "molecules.zip", "w") as archive:
      for split in zinc.SPLITS:
        archive.write(manual / "molecules" / f"{split}.pickle", f"molecules/{split}.pickle")
        (manual / "molecules" / f"{split}.pickle").unlink()
  zinc.prepare(tmp_path / "tfds", "subset", manual_dir=manual)
  records = _read_all(tmp_path / "tfds", "subset")
  for split in zinc.SPLITS:
    assert [r["graph_id"] for r in records[split]] == [r["graph_id"] for r in built["subset"][split]]


@pytest.mark.parametrize("config", sorted(TINY))
def test_tiny_configs_are_the_shipped_fixtures_subset_and_need_no_manual_dir(built, config):
  assert set(TINY) == set(zinc.TINY_CONFIGS) <= set(zinc.CONFIGS)
  for split, records in built[config].items():
    assert len(records) == zinc.NUM_GRAPHS["tiny"][split] == len(built[TINY[config]][split])
    for tiny, released in zip(records, built[TINY[config]][split], strict=True):
      assert tiny.keys() == released.keys()
      for key in tiny:
        np.testing.assert_array_equal(tiny[key], released[key], err_msg=key)


def test_tiny_configs_ignore_the_manual_dir(tmp_path, built):
  zinc.prepare(tmp_path / "tfds", "tiny", manual_dir=tmp_path / "nowhere")
  assert [r["graph_id"] for r in _read_all(tmp_path / "tfds", "tiny")["val"]] == [
    r["graph_id"] for r in built["subset"]["val"]
  ]


def test_default_manual_dir_is_under_data_dir(tmp_path):
  shutil.copytree(_extracted(tmp_path), tmp_path / "tfds" / "downloads" / "manual")
  zinc.prepare(tmp_path / "tfds", "full")
  assert len(_read_all(tmp_path / "tfds", "full")["val"]) == 4


# Errors users can hit.


@pytest.mark.parametrize("where", ["given", "default", "empty"])
def test_a_missing_manual_dir_is_one_data_error_with_the_instructions_once(tmp_path, where):
  manual = {
    "given": tmp_path / "nowhere",
    "default": tmp_path / "tfds" / "downloads" / "manual",
    "empty": tmp_path / "empty",
  }[where]
  manual.parent.mkdir(parents=True, exist_ok=True)
  if where == "empty":
    manual.mkdir()
  with pytest.raises(DataError) as error:
    zinc.prepare(tmp_path / "tfds", "subset", manual_dir=None if where == "default" else manual)
  message = str(error.value)
  assert type(error.value) is DataError and error.value.__cause__ is None
  assert f"the manual directory {manual}" in message and "train.pickle, val.pickle, test.pickle" in message
  assert message.count(zinc.DOWNLOAD_URL) == 1 and message.count(zinc.INDEX_URL.format(split="val")) == 1
  assert message.count("Download molecules.zip") == 1 and message.count("curl") == 4


def test_missing_index_files_say_where_to_get_them(tmp_path):
  manual = _extracted(tmp_path)
  for split in zinc.SPLITS:
    (manual / "molecules" / f"{split}.index").unlink()
  with pytest.raises(DataError, match="train.index, val.index, test.index") as error:
    zinc.prepare(tmp_path / "tfds", "subset", manual_dir=manual)
  assert str(error.value).count(zinc.INDEX_URL.format(split="val")) == 1
  assert zinc.DOWNLOAD_URL not in str(error.value)  # the pickles are there
  zinc.prepare(tmp_path / "tfds", "full", manual_dir=manual)  # "full" needs no index files


def _molecule(n: int = 2, **changes) -> dict:
  """A molecule as plain lists (a pickle without globals)."""
  chain = np.eye(n, k=1, dtype=int)
  mol = {"num_atom": n, "atom_type": [0] * n, "bond_type": (chain + chain.T).tolist(), zinc.LABEL_KEY: [0.5]}
  mol.update(changes)
  return {k: v for k, v in mol.items() if v is not None}


_ASYMMETRIC = [[0, 1], [2, 0]]
_MALFORMED = {
  "truncated": ("train.pickle", b"\x80\x03]q\x00(K\x01", r"train\.pickle: cannot be unpickled"),
  "not_a_list": ("train.pickle", pickle.dumps({"not": "a list"}), r"train\.pickle holds a dict, not a list"),
  "unsafe": ("train.pickle", pickle.dumps([_Exploit()]), r"train\.pickle: refusing to load the global"),
  "missing_key": (
    "train.pickle",
    pickle.dumps([_molecule(bond_type=None)]),
    r"train\.pickle, molecule 0 lacks the key\(s\) \['bond_type'\]",
  ),
  "bad_shape": (
    "val.pickle",
    pickle.dumps([_molecule(3), _molecule(bond_type=[[0, 1, 0], [1, 0, 0]])]),
    r"val\.pickle, molecule 1: bond_type has shape \(2, 3\), expected \(2, 2\)",
  ),
  "bad_atom_type": (
    "val.pickle",
    pickle.dumps([_molecule(atom_type=[0, 28])]),
    r"val\.pickle, molecule 0: atom_type holds values outside the 28 ids",
  ),
  "asymmetric": (
    "val.pickle",
    pickle.dumps([_molecule(bond_type=_ASYMMETRIC)]),
    r"val\.pickle, molecule 0: bond_type is not a symmetric",
  ),
  "num_atom": (
    "test.pickle",
    pickle.dumps([_molecule(num_atom=5)]),
    r"test\.pickle, molecule 0: num_atom is 5 but atom_type has 2",
  ),
  "index_range": (
    "train.index",
    b"0,1,99\r\n",
    r"train\.index: index 99 is out of range for train\.pickle, which holds 12",
  ),
  "index_text": ("val.index", b"0;1\n", r"val\.index: '0;1' is not an integer"),
  "bad_zip": ("molecules.zip", b"not a zip", r"molecules\.zip is not a valid zip archive"),
}


@pytest.mark.parametrize("file, content, message", _MALFORMED.values(), ids=_MALFORMED.keys())
def test_malformed_files_name_the_file_and_the_problem(tmp_path, file, content, message):
  manual = _extracted(tmp_path)
  (manual if file == "molecules.zip" else manual / "molecules").joinpath(file).write_bytes(content)
  with pytest.raises(DataError, match=message) as error:
    zinc.prepare(tmp_path / "tfds", "subset" if file.endswith(".index") else "full", manual_dir=manual)
  assert str(manual) in str(error.value)  # the full path of the file


def test_prepare_rejects_an_unknown_config(tmp_path):
  with pytest.raises(ValueError, match="config='12k' is not a ZINC config"):
    zinc.prepare(tmp_path, "12k", manual_dir=FIXTURE)
