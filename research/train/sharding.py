"""Meshes, logical-axis rules and the shardings of state and batches.

Parameters carry logical axis names ("embed", "mlp", "heads", "vocab"); the rules
table (`config.sharding.rules`, configs/mesh.py's `logical_axis_rules` by default,
as big_vision and maxtext keep it) maps them to mesh axes. A dimension that the
mapped mesh axes do not divide stays replicated, so one model runs on any mesh. The
batch is sharded over the mesh axes of the "batch" rule (("data", "fsdp") by default).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from flax import nnx
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from research.errors import ConfigError

MESH_AXES = ("data", "fsdp", "tensor")
BATCH = "batch"  # the logical axis of the examples of a batch

Rules = Mapping[str, tuple[str, ...]]


def mesh_shape(axes: Mapping[str, int], num_devices: int) -> tuple[int, ...]:
  """Resolves the config's axis sizes (one may be -1) against the device count."""
  unknown = set(axes) - set(MESH_AXES)
  if unknown:
    raise ConfigError(f"config.mesh has unknown axes {sorted(unknown)}; allowed axes are {MESH_AXES}.")
  sizes = [int(axes.get(name, 1)) for name in MESH_AXES]
  if sizes.count(-1) > 1:
    raise ConfigError(f"config.mesh={dict(axes)} has more than one axis set to -1.")
  if any(s == 0 or s < -1 for s in sizes):
    raise ConfigError(f"config.mesh={dict(axes)}: axis sizes must be positive or -1.")
  known = math.prod(s for s in sizes if s != -1)
  if -1 in sizes:
    if num_devices % known:
      raise ConfigError(
        f"config.mesh={dict(axes)} does not divide the {num_devices} devices: the fixed axes take {known}."
      )
    sizes[sizes.index(-1)] = num_devices // known
  if math.prod(sizes) != num_devices:
    raise ConfigError(
      f"config.mesh={dict(axes)} has {math.prod(sizes)} devices but {num_devices} are available; "
      "make the product of the axis sizes equal the device count, or set one axis to -1."
    )
  return tuple(sizes)


def make_mesh(axes: Mapping[str, int], devices: list[jax.Device] | None = None) -> Mesh:
  """A mesh over all (global) devices with axes (data, fsdp, tensor)."""
  devices = devices if devices is not None else jax.devices()
  shape = mesh_shape(axes, len(devices))
  return jax.make_mesh(shape, MESH_AXES, axis_types=(AxisType.Auto,) * len(MESH_AXES), devices=devices)


def check_rules(rules: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
  """`config.sharding.rules` as {logical axis: mesh axes}; a mesh axis that does not exist is a ConfigError."""
  table = {name: tuple(axes or ()) for name, axes in rules.items()}
  for name, axes in table.items():
    unknown = [a for a in axes if a not in MESH_AXES]
    if unknown or len(set(axes)) != len(axes):
      raise ConfigError(
        f"config.sharding.rules.{name}={axes}: use distinct mesh axes of {MESH_AXES}, or () to replicate."
      )
  if BATCH not in table or not table[BATCH]:
    raise ConfigError(
      f"config.sharding.rules.{BATCH} names no mesh axes; the batch must be split over at least one "
      "(default: ('data', 'fsdp'))."
    )
  return table


def _logical_axes(leaf: Any) -> tuple[str | None, ...] | None:
  if isinstance(leaf, nnx.Variable):
    names = leaf.get_metadata().get("out_sharding") or leaf.get_metadata().get("sharding_names")
    return tuple(names) if names else None
  return None


@dataclasses.dataclass(frozen=True)
class Layout:
  """A mesh and the rules that lay logical axes onto it: the shardings of state and batches."""

  mesh: Mesh
  rules: Rules

  @classmethod
  def from_config(
    cls, mesh: Mapping[str, int], rules: Mapping[str, Any], devices: list[jax.Device] | None = None
  ) -> Layout:
    table = check_rules(rules)  # before the mesh: a bad table needs no devices to be found
    return cls(make_mesh(mesh, devices), table)

  @property
  def batch_axes(self) -> tuple[str, ...]:
    return self.rules[BATCH]

  @property
  def data_parallel_size(self) -> int:
    return math.prod(self.mesh.shape[a] for a in self.batch_axes)

  @property
  def num_batch_shards(self) -> int:
    """Pieces a global batch is cut into: one per data-parallel device group, and at least one per process."""
    dp, processes = self.data_parallel_size, jax.process_count()
    return dp * processes // math.gcd(dp, processes)

  def spec(self, logical: tuple[str | None, ...], shape: tuple[int, ...]) -> P:
    """Maps logical axis names to a PartitionSpec, replicating dimensions the mesh does not divide."""
    spec: list[Any] = []
    used: set[str] = set()
    for name, dim in zip(logical, shape):
      if name is not None and name not in self.rules:
        raise ConfigError(
          f"Logical axis {name!r} has no sharding rule; add config.sharding.rules.{name} "
          f"(known logical axes: {sorted(self.rules)})."
        )
      axes = self.rules[name] if name is not None else ()
      axes = tuple(a for a in axes if a not in used and self.mesh.shape[a] > 1)
      if axes and dim % math.prod(self.mesh.shape[a] for a in axes) == 0:
        spec.append(axes if len(axes) > 1 else axes[0])
        used.update(axes)
      else:
        spec.append(None)
    return P(*spec)

  def state_shardings(self, abstract_state: Any) -> Any:
    """NamedShardings for a pytree of (abstract) nnx Variables / arrays, from their logical axes."""

    def sharding(leaf: Any) -> NamedSharding:
      value = leaf.get_value() if isinstance(leaf, nnx.Variable) else leaf
      logical = _logical_axes(leaf)
      shape = tuple(getattr(value, "shape", ()))
      if logical is None or len(logical) != len(shape):
        return NamedSharding(self.mesh, P())
      return NamedSharding(self.mesh, self.spec(logical, shape))

    def leaf_sharding(leaf: Any) -> Any:
      if isinstance(leaf, nnx.Variable):
        return leaf.replace(sharding(leaf))
      return sharding(leaf)

    return jax.tree.map(leaf_sharding, abstract_state, is_leaf=lambda x: isinstance(x, nnx.Variable))

  def batch(self) -> NamedSharding:
    """Leading (example) dimension over the batch axes; the rest replicated."""
    return NamedSharding(self.mesh, P(self.batch_axes))

  def replicated(self) -> NamedSharding:
    return NamedSharding(self.mesh, P())

  def check_batch_divisible(self, global_batch: int, what: str) -> None:
    dp = self.data_parallel_size
    if global_batch % dp:
      sizes = "×".join(str(self.mesh.shape[a]) for a in self.batch_axes)
      raise ConfigError(
        f"{what}={global_batch} is not divisible by the data-parallel size {dp} "
        f"(mesh {'×'.join(self.batch_axes)} = {sizes}); use a multiple of {dp}."
      )
    if global_batch % jax.process_count():
      raise ConfigError(f"{what}={global_batch} is not divisible by the {jax.process_count()} processes.")

  def global_batch(self, local_batch: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
    """Assembles each process's slice into one global array sharded over the batch axes."""
    sharding = self.batch()
    if jax.process_count() == 1:
      return jax.device_put(dict(local_batch), sharding)  # one call for all arrays: cheaper per step
    return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local_batch.items()}

  def process_batch_rows(self, global_batch_size: int) -> tuple[int, int]:
    """The contiguous rows [start, stop) of a global batch that this process feeds."""
    index_map = self.batch().addressable_devices_indices_map((global_batch_size,))
    starts = [idx[0].start or 0 for idx in index_map.values()]
    stops = [idx[0].stop if idx[0].stop is not None else global_batch_size for idx in index_map.values()]
    start, stop = min(starts), max(stops)
    if stop - start != global_batch_size // jax.process_count():
      raise ConfigError(
        f"This process's devices hold rows {start}..{stop} of the batch, which are not one contiguous "
        f"1/{jax.process_count()} slice; order the mesh so each process's devices are adjacent on the batch axes."
      )
    return start, stop
