"""Mesh presets: axis name -> size; -1 takes the devices the other axes leave."""

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
