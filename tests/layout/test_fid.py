"""Fréchet distance: closed forms and an eigendecomposition formulation."""

from __future__ import annotations

import numpy as np
import pytest

from research.layout import fid


def _psd_root(matrix: np.ndarray) -> np.ndarray:
  values, vectors = np.linalg.eigh(matrix)
  return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def test_identical_statistics_are_at_distance_zero():
  features = np.random.default_rng(0).normal(size=(500, 6))
  assert fid.frechet_distance_of_features(features, features) == pytest.approx(0.0, abs=1e-8)


def test_one_dimensional_gaussians_follow_the_closed_form():
  # FD(N(m1, s1^2), N(m2, s2^2)) = (m1 - m2)^2 + (s1 - s2)^2.
  assert fid.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_random_covariances_match_the_symmetric_formulation():
  # tr((S1 S2)^(1/2)) = tr((S1^(1/2) S2 S1^(1/2))^(1/2)), computed with eigendecompositions only.
  rng = np.random.default_rng(1)
  a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
  s1, s2 = a @ a.T + 0.1 * np.eye(8), b @ b.T + 0.1 * np.eye(8)
  mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
  r1 = _psd_root(s1)
  expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(_psd_root(r1 @ s2 @ r1))
  assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_fewer_samples_than_dimensions_still_give_a_finite_distance():
  rng = np.random.default_rng(2)
  value = fid.frechet_distance_of_features(rng.normal(size=(5, 16)), rng.normal(size=(5, 16)) + 1.0)
  assert np.isfinite(value) and value > 16 * 0.5  # the means alone are ~sqrt(16) apart


def test_bad_inputs_are_refused():
  with pytest.raises(ValueError, match="N >= 2 samples"):
    fid.feature_statistics(np.zeros((1, 4)))
  with pytest.raises(ValueError, match="of one D"):
    fid.frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
  with pytest.raises(ValueError, match="imaginary part"):
    fid.frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))
