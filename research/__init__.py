"""Graph and layout transformers for diagrams: the reusable library.

Importing it sets one XLA:CPU option, before JAX starts its backends (see
`_keep_cpu_reductions_in_xla`).
"""

from __future__ import annotations

import importlib.metadata
import os

# XLA:CPU in jaxlib 0.10 hands reductions to YNNPACK fusions. The backward
# pass of a BatchNorm over a tall [E, D] edge tensor (a multiply, then a sum
# over E) ran about 40 times slower there than in XLA's own loops: 385 ms
# against ~10 ms for 260k PATTERN edges x 64 channels on 2 cores, so that a
# GraphGPS step on PATTERN took 4.0 s instead of 2.3 s. Elementwise and dot
# fusions stay with YNNPACK (turning them off too changed nothing).
_YNN_FUSION_FLAG = "--xla_cpu_experimental_ynn_fusion_type"
_JAXLIB_WITH_YNN_REDUCE = ("0.10.",)  # versions measured; others may not know the flag, which XLA rejects


def _keep_cpu_reductions_in_xla() -> None:
  """Adds `--xla_cpu_experimental_ynn_fusion_type=-reduce` to XLA_FLAGS unless it names YNN fusion types already."""
  flags = os.environ.get("XLA_FLAGS", "")
  try:
    jaxlib_version = importlib.metadata.version("jaxlib")
  except importlib.metadata.PackageNotFoundError:
    return
  if _YNN_FUSION_FLAG in flags or not jaxlib_version.startswith(_JAXLIB_WITH_YNN_REDUCE):
    return
  os.environ["XLA_FLAGS"] = f"{flags} {_YNN_FUSION_FLAG}=-reduce".strip()


_keep_cpu_reductions_in_xla()
