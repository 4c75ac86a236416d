"""Edge budgets of packed graph batches always fit the largest graph and follow the documented rule."""

import numpy as np
import pytest

from configs import graph_budgets


@pytest.mark.parametrize("name", sorted(graph_budgets.SBM_EDGES))
def test_budgets_fit_the_largest_graph_and_never_exceed_the_safe_bound(name):
  edges = graph_budgets.SBM_EDGES[name]
  for pack in (1, 2, 4, 8, 16, 32):
    budget = graph_budgets.pack_edge_budget(edges, pack)
    assert edges.max <= budget <= pack * edges.max
    assert budget % 1024 == 0 or budget == pack * edges.max


def test_statistical_budget_holds_for_simulated_packs():
  # Gamma-distributed edge counts with PATTERN's mean and spread: 20k random packs of 32 all fit.
  edges = graph_budgets.SBM_EDGES["pattern"]
  rng = np.random.default_rng(0)
  shape = (edges.mean / edges.std) ** 2
  counts = np.minimum(rng.gamma(shape, edges.mean / shape, size=(20_000, 32)), edges.max)
  assert counts.sum(axis=1).max() <= graph_budgets.pack_edge_budget(edges, 32)
