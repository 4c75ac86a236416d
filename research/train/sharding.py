"""Meshes, logical-axis rules and the shardings of state and batches.

Parameters carry logical axis names ("embed", "mlp", "heads", "vocab"); RULES maps
them to mesh axes. A dimension that the mapped mesh axes do not divide stays
replicated, so one model runs on any mesh. The batch is sharded over
("data", "fsdp").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from flax import nnx
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

MESH_AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")

# logical axis name -> mesh axes (tuple) or None (replicated)
RULES: dict[str, tuple[str, ...] | None] = {
    "batch": BATCH_AXES,
    "embed": ("fsdp",),
    "mlp": ("tensor",),
    "heads": ("tensor",),
    "kv": None,
    "vocab": ("tensor",),
}


def mesh_shape(axes: Mapping[str, int], num_devices: int) -> tuple[int, ...]:
  """Resolves the config's axis sizes (one may be -1) against the device count."""
  unknown = set(axes) - set(MESH_AXES)
  if unknown:
    raise ValueError(f"config.mesh has unknown axes {sorted(unknown)}; allowed axes are {MESH_AXES}.")
  sizes = [int(axes.get(name, 1)) for name in MESH_AXES]
  if sizes.count(-1) > 1:
    raise ValueError(f"config.mesh={dict(axes)} has more than one axis set to -1.")
  if any(s == 0 or s < -1 for s in sizes):
    raise ValueError(f"config.mesh={dict(axes)}: axis sizes must be positive or -1.")
  known = math.prod(s for s in sizes if s != -1)
  if -1 in sizes:
    if num_devices % known:
      raise ValueError(
          f"config.mesh={dict(axes)} does not divide the {num_devices} devices: the fixed axes take {known}."
      )
    sizes[sizes.index(-1)] = num_devices // known
  if math.prod(sizes) != num_devices:
    raise ValueError(
        f"config.mesh={dict(axes)} has {math.prod(sizes)} devices but {num_devices} are available; "
        "make the product of the axis sizes equal the device count, or set one axis to -1."
    )
  return tuple(sizes)


def make_mesh(axes: Mapping[str, int], devices: list[jax.Device] | None = None) -> Mesh:
  """A mesh over all (global) devices with axes (data, fsdp, tensor)."""
  devices = devices if devices is not None else jax.devices()
  shape = mesh_shape(axes, len(devices))
  return jax.make_mesh(shape, MESH_AXES, axis_types=(AxisType.Auto,) * len(MESH_AXES), devices=devices)


def data_parallel_size(mesh: Mesh) -> int:
  return math.prod(mesh.shape[a] for a in BATCH_AXES)


def logical_to_mesh_spec(logical: tuple[str | None, ...], shape: tuple[int, ...], mesh: Mesh) -> P:
  """Maps logical axis names to a PartitionSpec, replicating dimensions the mesh does not divide."""
  spec: list[Any] = []
  used: set[str] = set()
  for name, dim in zip(logical, shape):
    axes = RULES.get(name) if name is not None else None
    if name is not None and name not in RULES:
      raise ValueError(f"Logical axis {name!r} has no sharding rule; known logical axes: {sorted(RULES)}.")
    axes = tuple(a for a in (axes or ()) if a not in used and mesh.shape[a] > 1)
    if axes and dim % math.prod(mesh.shape[a] for a in axes) == 0:
      spec.append(axes if len(axes) > 1 else axes[0])
      used.update(axes)
    else:
      spec.append(None)
  return P(*spec)


def _logical_axes(leaf: Any) -> tuple[str | None, ...] | None:
  if isinstance(leaf, nnx.Variable):
    names = leaf.get_metadata().get("out_sharding") or leaf.get_metadata().get("sharding_names")
    return tuple(names) if names else None
  return None


def state_shardings(abstract_state: Any, mesh: Mesh) -> Any:
  """NamedShardings for a pytree of (abstract) nnx Variables / arrays, from their logical axes."""

  def sharding(leaf: Any) -> NamedSharding:
    value = leaf.get_value() if isinstance(leaf, nnx.Variable) else leaf
    logical = _logical_axes(leaf)
    shape = tuple(getattr(value, "shape", ()))
    if logical is None or len(logical) != len(shape):
      return NamedSharding(mesh, P())
    return NamedSharding(mesh, logical_to_mesh_spec(logical, shape, mesh))

  def leaf_sharding(leaf: Any) -> Any:
    if isinstance(leaf, nnx.Variable):
      return leaf.replace(sharding(leaf))
    return sharding(leaf)

  return jax.tree.map(leaf_sharding, abstract_state, is_leaf=lambda x: isinstance(x, nnx.Variable))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (example) dimension over (data, fsdp); the rest replicated."""
  return NamedSharding(mesh, P(BATCH_AXES))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def check_batch_divisible(global_batch: int, mesh: Mesh, what: str = "config.data.batch_size") -> None:
  dp = data_parallel_size(mesh)
  if global_batch % dp:
    raise ValueError(
        f"{what}={global_batch} is not divisible by the data-parallel size {dp} "
        f"(mesh data×fsdp = {mesh.shape['data']}×{mesh.shape['fsdp']}); use a multiple of {dp}."
    )
  if global_batch % jax.process_count():
    raise ValueError(f"{what}={global_batch} is not divisible by the {jax.process_count()} processes.")


def check_packs_divisible(global_batch: int, graphs_per_pack: int, mesh: Mesh, what: str) -> None:
  """Edge lists of packs of graphs are sharded like the graphs: every shard must hold whole packs."""
  shards = data_parallel_size(mesh) * jax.process_count() // math.gcd(data_parallel_size(mesh), jax.process_count())
  if global_batch % (shards * graphs_per_pack):
    raise ValueError(
        f"{what}={global_batch} does not split into whole packs of config.data.graphs_per_pack={graphs_per_pack} "
        f"graphs on each of the {shards} batch shards; use a batch size that is a multiple of {shards * graphs_per_pack}."
    )


def global_batch(local_batch: Mapping[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
  """Assembles each process's slice into one global array sharded over the batch axes."""
  sharding = batch_sharding(mesh)
  if jax.process_count() == 1:
    return jax.device_put(dict(local_batch), sharding)  # one call for all arrays: cheaper per step
  return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local_batch.items()}


def process_batch_rows(mesh: Mesh, global_batch_size: int) -> tuple[int, int]:
  """The contiguous rows [start, stop) of a global batch that this process feeds."""
  index_map = batch_sharding(mesh).addressable_devices_indices_map((global_batch_size,))
  starts = [idx[0].start or 0 for idx in index_map.values()]
  stops = [idx[0].stop if idx[0].stop is not None else global_batch_size for idx in index_map.values()]
  start, stop = min(starts), max(stops)
  if stop - start != global_batch_size // jax.process_count():
    raise ValueError(
        f"This process's devices hold rows {start}..{stop} of the batch, which are not one contiguous "
        f"1/{jax.process_count()} slice; order the mesh so each process's devices are adjacent on the batch axes."
    )
  return start, stop
