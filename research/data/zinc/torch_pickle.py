"""Reads plain pickles of torch tensors as numpy arrays, without torch.

`pickle.dump` of a CPU tensor writes a call of
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
backward_hooks[, metadata])`, where `storage` is itself pickled as a call of
`torch.storage._load_from_bytes(blob)` and `blob` holds `torch.save` of the
storage in one of two formats:

- legacy (what every torch version writes here): five pickles in a row, the
  magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, a system-info
  dict (`little_endian`, ...), the storage as a persistent id
  `("storage", torch.<Type>Storage, key, location, numel, view_metadata)`, and
  the list of storage keys; then, per key, its element count as an int64 and
  its raw elements.
- zip (`torch.save`'s default since torch 1.6): a zip archive holding
  `<prefix>/data.pkl` (the persistent id `("storage", torch.<Type>Storage, key,
  location, numel)`), `<prefix>/byteorder` and the raw elements in
  `<prefix>/data/<key>`.

`load` rebuilds every tensor as a numpy array. Unlike `pickle.load`, which
runs whatever callable a file names, it resolves only the globals above (plus
`collections.OrderedDict`, torch's empty hook table, and numpy scalars and
dtypes) and refuses any other with `UnsafePickleError`. Malformed content
raises a `ValueError`; both are DataErrors (research.errors) that name the file.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import math
import pickle
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from research.errors import DataError

__all__ = ["UnsafePickleError", "load", "loads"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_ZIP_MAGIC = b"PK\x03\x04"

# torch.<name> storage classes named in persistent ids, and their element types.
# BFloat16 and complex storages have no numpy twin and are refused.
_STORAGE_DTYPES = {
  "DoubleStorage": np.float64,
  "FloatStorage": np.float32,
  "HalfStorage": np.float16,
  "LongStorage": np.int64,
  "IntStorage": np.int32,
  "ShortStorage": np.int16,
  "CharStorage": np.int8,
  "ByteStorage": np.uint8,
  "BoolStorage": np.bool_,
}


class UnsafePickleError(DataError, pickle.UnpicklingError):
  """A pickle names a global (a callable or class) outside the allow-list."""


class _MalformedError(DataError, ValueError):
  """Malformed content, already described with the file's name."""


@dataclasses.dataclass(frozen=True)
class _StorageType:
  """Stands in for a torch.<name>Storage class inside a storage blob."""

  name: str
  dtype: np.dtype


def _numpy_scalar(dtype: np.dtype, data: Any = None) -> Any:
  """numpy's scalar pickling (`numpy.core.multiarray.scalar`), non-object dtypes only."""
  if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
    raise pickle.UnpicklingError(f"unsupported numpy scalar of dtype {dtype!r}")
  return np.frombuffer(data, dtype, count=1)[0]


def _key(value: Any) -> str:
  """A storage key (str, or bytes from pickles of Python 2) as str."""
  return value.decode("ascii", errors="replace") if isinstance(value, bytes) else str(value)


@dataclasses.dataclass(frozen=True)
class _PendingStorage:
  """A storage named in a legacy blob before its bytes are read: elements [offset, offset + size) of `key`."""

  key: str
  offset: int
  size: int


def _is_shape(value: Any) -> bool:
  """Whether `value` is a tuple of non-negative ints (a tensor's size or stride)."""
  return isinstance(value, tuple) and all(isinstance(x, int) and x >= 0 for x in value)


class _Unpickler(pickle.Unpickler):
  """An unpickler that resolves only the globals in `self.allowed`."""

  def __init__(
    self,
    file: BinaryIO,
    *,
    name: str,
    allowed: dict[tuple[str, str], Any],
    persistent_load: Callable[[Any], Any] | None = None,
  ):
    super().__init__(file)
    self._name = name
    self._allowed = allowed
    self._persistent_load = persistent_load

  def find_class(self, module: str, name: str) -> Any:
    try:
      return self._allowed[(module, name)]
    except KeyError:
      allowed = ", ".join(sorted(f"{m}.{n}" for m, n in self._allowed)) or "none"
      raise UnsafePickleError(
        f"{self._name}: refusing to load the global {module}.{name}; only these are allowed: "
        f"{allowed}. Loading it could run arbitrary code: this is not a pickle of torch tensors "
        "like the ZINC files, or it was altered. Re-download the file from its source."
      ) from None

  def persistent_load(self, pid: Any) -> Any:
    if self._persistent_load is None:
      raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
    return self._persistent_load(pid)


class _Reader:
  """Loads one file; knows its name for error messages."""

  def __init__(self, name: str):
    self._name = name
    numpy_scalar_modules = ("numpy.core.multiarray", "numpy._core.multiarray")
    self._outer_globals: dict[tuple[str, str], Any] = {
      ("torch._utils", "_rebuild_tensor_v2"): self._rebuild_tensor,
      ("torch.storage", "_load_from_bytes"): self._load_storage,
      ("collections", "OrderedDict"): collections.OrderedDict,
      ("numpy", "dtype"): np.dtype,
      **{(module, "scalar"): _numpy_scalar for module in numpy_scalar_modules},
    }
    self._storage_globals = {("torch", n): _StorageType(n, np.dtype(d)) for n, d in _STORAGE_DTYPES.items()}

  def _error(self, problem: str) -> ValueError:
    return _MalformedError(
      f"{self._name}: {problem}. The file is damaged or not in the expected format; re-download it."
    )

  def load(self, file: BinaryIO) -> Any:
    try:
      return _Unpickler(file, name=self._name, allowed=self._outer_globals).load()
    except (UnsafePickleError, _MalformedError):
      raise
    except Exception as e:  # any failure of a corrupt pickle; the message names the file
      raise self._error(f"cannot be unpickled ({type(e).__name__}: {e})") from e

  def _load_storage(self, blob: Any) -> np.ndarray:
    """`torch.storage._load_from_bytes`: a torch.save blob -> 1-D array of its elements."""
    if not isinstance(blob, bytes):
      raise self._error(f"a tensor storage holds {type(blob).__name__}, not bytes")
    if blob.startswith(_ZIP_MAGIC):
      return self._load_zip_storage(blob)
    return self._load_legacy_storage(blob)

  def _unpickle_inner(self, file: BinaryIO, persistent_load: Callable[[Any], Any] | None = None) -> Any:
    allowed = self._storage_globals if persistent_load else {}
    return _Unpickler(file, name=self._name, allowed=allowed, persistent_load=persistent_load).load()

  def _storage_id(self, pid: Any, length: int) -> tuple[_StorageType, str, int, Any]:
    """Checks a persistent id ("storage", type, key, location, numel[, view]) -> its parts."""
    if not (isinstance(pid, tuple) and len(pid) == length and pid[0] in ("storage", b"storage")):
      raise self._error(f"unexpected storage id {pid!r} in a tensor storage")
    storage_type, key, numel = pid[1], pid[2], pid[4]
    if not isinstance(storage_type, _StorageType) or not isinstance(numel, int) or numel < 0:
      raise self._error(f"unexpected storage id {pid!r} in a tensor storage")
    return storage_type, _key(key), numel, pid[5] if length == 6 else None

  def _load_legacy_storage(self, blob: bytes) -> np.ndarray:
    file = io.BytesIO(blob)
    if self._unpickle_inner(file) != _LEGACY_MAGIC:
      raise self._error("a tensor storage has neither the legacy torch.save magic number nor a zip header")
    if (protocol := self._unpickle_inner(file)) != _LEGACY_PROTOCOL:
      raise self._error(f"a tensor storage has torch.save protocol {protocol!r}, not {_LEGACY_PROTOCOL}")
    sys_info = self._unpickle_inner(file)
    byteorder = "<" if not isinstance(sys_info, dict) or sys_info.get("little_endian", True) else ">"
    roots: dict[str, tuple[np.dtype, int]] = {}

    def persistent_load(pid: Any) -> _PendingStorage:
      storage_type, key, numel, view = self._storage_id(pid, 6)
      if roots.setdefault(key, (storage_type.dtype, numel)) != (storage_type.dtype, numel):
        raise self._error(f"storage {key!r} is declared twice with different types or sizes")
      offset, size = 0, numel
      if view is not None:
        if not (isinstance(view, tuple) and len(view) == 3 and all(isinstance(v, int) for v in view[1:])):
          raise self._error(f"unexpected storage view {view!r}")
        _, offset, size = view
      return _PendingStorage(key, offset, size)

    pending = self._unpickle_inner(file, persistent_load)
    keys = self._unpickle_inner(file)
    if not isinstance(pending, _PendingStorage):
      raise self._error("a tensor storage blob does not hold a storage")
    if not isinstance(keys, list) or sorted(map(_key, keys)) != sorted(roots):
      raise self._error(f"a tensor storage lists keys {keys!r} but declares {sorted(roots)}")
    arrays = {}
    for key in map(_key, keys):
      dtype, numel = roots[key]
      head = file.read(8)
      if len(head) != 8:
        raise self._error(f"storage {key!r} is truncated")
      (count,) = np.frombuffer(head, byteorder + "i8")
      if count != numel:
        raise self._error(f"storage {key!r} holds {count} elements but declares {numel}")
      arrays[key] = self._elements(file.read(numel * dtype.itemsize), dtype.newbyteorder(byteorder), numel, key)
    root, start, stop = arrays[pending.key], pending.offset, pending.offset + pending.size
    if start < 0 or pending.size < 0 or stop > len(root):
      raise self._error(f"a view [{start}, {stop}) lies outside storage {pending.key!r} of {len(root)}")
    return root[start:stop]

  def _load_zip_storage(self, blob: bytes) -> np.ndarray:
    try:
      archive = zipfile.ZipFile(io.BytesIO(blob))
      names = archive.namelist()
      pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
      if len(pickles) != 1:
        raise self._error(f"a zip-format tensor storage has {len(pickles)} data.pkl entries, not 1")
      prefix = pickles[0][: -len("data.pkl")]
      byteorder = "<"
      if prefix + "byteorder" in names:
        byteorder = {b"little": "<", b"big": ">"}.get(archive.read(prefix + "byteorder").strip(), "?")
        if byteorder == "?":
          raise self._error("a zip-format tensor storage has an unknown byteorder")

      def persistent_load(pid: Any) -> np.ndarray:
        storage_type, key, numel, _ = self._storage_id(pid, 5)
        entry = f"{prefix}data/{key}"
        if entry not in names:
          raise self._error(f"a zip-format tensor storage lacks its data entry {entry!r}")
        dtype = storage_type.dtype.newbyteorder(byteorder)
        return self._elements(archive.read(entry), dtype, numel, key)

      storage = self._unpickle_inner(io.BytesIO(archive.read(pickles[0])), persistent_load)
    except zipfile.BadZipFile as e:
      raise self._error(f"a zip-format tensor storage is not a valid zip archive ({e})") from e
    if not isinstance(storage, np.ndarray):
      raise self._error("a zip-format tensor storage blob does not hold a storage")
    return storage

  def _elements(self, data: bytes, dtype: np.dtype, numel: int, key: str) -> np.ndarray:
    if len(data) != numel * dtype.itemsize:
      raise self._error(f"storage {key!r} has {len(data)} bytes, not {numel} x {dtype.itemsize}")
    return np.frombuffer(data, dtype).astype(dtype.newbyteorder("="))  # a native-order copy

  def _rebuild_tensor(
    self,
    storage: Any,
    offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    backward_hooks: Any = None,
    metadata: Any = None,
  ) -> np.ndarray:
    """`torch._utils._rebuild_tensor_v2` -> a contiguous numpy array of the tensor."""
    del requires_grad, backward_hooks, metadata  # no meaning for numpy
    if not isinstance(storage, np.ndarray) or not isinstance(offset, int) or offset < 0:
      raise self._error("a tensor is not rebuilt from a storage and an offset")
    if not (_is_shape(size) and _is_shape(stride) and len(size) == len(stride)):
      raise self._error(f"a tensor has a malformed size {size!r} or stride {stride!r}")
    if math.prod(size) == 0:
      return np.zeros(size, storage.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= len(storage):
      raise self._error(
        f"a tensor of size {size} and stride {stride} at offset {offset} overruns its storage of {len(storage)}"
      )
    contiguous = [math.prod(size[i + 1 :]) for i in range(len(size))]
    if all(n == 1 or s == c for n, s, c in zip(size, stride, contiguous, strict=True)):
      # The usual case: a view that shares the storage (already a copy of the
      # blob), so the unpickler's memo of the storage costs no extra memory.
      return storage[offset : offset + math.prod(size)].reshape(size)
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], size, tuple(s * itemsize for s in stride), writeable=False)
    return np.array(view)


def load(file: BinaryIO, *, name: str) -> Any:
  """Unpickles `file`, turning torch tensors into numpy arrays; `name` labels errors.

  Raises:
    UnsafePickleError: the pickle names a global outside the allow-list.
    ValueError: the content is malformed (truncated, bad tensor storage, ...).
  """
  return _Reader(name).load(file)


def loads(data: bytes, *, name: str = "<bytes>") -> Any:
  """`load` from bytes."""
  return load(io.BytesIO(data), name=name)
