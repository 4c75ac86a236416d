"""Mesh presets (axis name -> size; -1 takes the devices the other axes leave) and the logical-axis rules."""

from __future__ import annotations

import ml_collections


def mesh(data: int = -1, fsdp: int = 1, tensor: int = 1) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({"data": data, "fsdp": fsdp, "tensor": tensor})


def data_parallel() -> ml_collections.ConfigDict:
  """Batch over every device, parameters replicated."""
  return mesh(data=-1)


def fsdp(fsdp_size: int = -1) -> ml_collections.ConfigDict:
  """Batch and parameters both sharded over `fsdp` (ZeRO-3 style)."""
  return mesh(data=1, fsdp=fsdp_size)


def logical_axis_rules() -> ml_collections.ConfigDict:
  """config.sharding.rules: each logical axis name of the parameters and batch -> the mesh axes it is split over.

  () replicates. A dimension that the mapped mesh axes do not divide stays replicated
  (research/train/sharding.py), so one table serves every model and mesh.
  """
  return ml_collections.ConfigDict(
    {
      "batch": ("data", "fsdp"),
      "embed": ("fsdp",),
      "mlp": ("tensor",),
      "heads": ("tensor",),
      "kv": (),
      "vocab": ("tensor",),
    }
  )
