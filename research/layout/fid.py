"""Fréchet distance between two sets of layout features (the "FID" of layout generation papers).

The features are those of a layout encoder trained per dataset (the FIDNet of
LayoutGAN++ / LayoutDM); this module only compares feature sets, as
pytorch-fid's `calculate_frechet_distance` does (Heusel et al., NeurIPS 2017):

  FD = |mu_1 - mu_2|^2 + tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))

with mu, S the mean and the unbiased covariance (rows are samples) of each
set, all in float64. (S_1 S_2)^(1/2) comes from scipy.linalg.sqrtm. When it is
not finite (a singular product, e.g. fewer samples than feature dimensions),
SQRTM_EPS is added to both diagonals and the root taken again; a root with an
imaginary part beyond IMAGINARY_TOLERANCE on its diagonal is an error, smaller
imaginary parts (numerical noise) are dropped. These are pytorch-fid's rules,
which LayoutGAN++, LayoutDM and LayoutFormer++ evaluate with.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

SQRTM_EPS = 1e-6
IMAGINARY_TOLERANCE = 1e-3


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Mean [D] and unbiased covariance [D, D] (float64) of features [N, D], N >= 2."""
  features = np.asarray(features, np.float64)
  if features.ndim != 2 or features.shape[0] < 2:
    raise ValueError(f"features must be [N, D] with N >= 2 samples; got shape {features.shape}.")
  return features.mean(axis=0), np.cov(features, rowvar=False).reshape(features.shape[1], features.shape[1])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
  """FD between the Gaussians N(mu1, sigma1) and N(mu2, sigma2), in float64."""
  mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
  sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
  d = mu1.shape[0]
  if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
    raise ValueError(
      f"Expected means [D] and covariances [D, D] of one D; got {mu1.shape}, {sigma1.shape}, "
      f"{mu2.shape}, {sigma2.shape}."
    )
  root = scipy.linalg.sqrtm(sigma1 @ sigma2)
  if not np.all(np.isfinite(root)):
    offset = SQRTM_EPS * np.eye(d)
    root = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
  if np.iscomplexobj(root):
    worst = np.max(np.abs(np.diagonal(root).imag))
    if worst > IMAGINARY_TOLERANCE:
      raise ValueError(
        f"The covariance product's square root has an imaginary part of {worst:.3g} on its "
        "diagonal: the covariances are not valid (symmetric positive semi-definite)."
      )
    root = root.real
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root))


def frechet_distance_of_features(features1: np.ndarray, features2: np.ndarray) -> float:
  """FD between two feature sets [N1, D] and [N2, D]."""
  return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))
