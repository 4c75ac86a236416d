"""Layout models: one file per paper model."""

from research.models.layout.fidnet import FIDNetV3

__all__ = ["FIDNetV3"]
