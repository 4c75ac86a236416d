"""Graph regression: the L1 loss and an MAE over the whole split, not a mean of per-batch means."""

import jax.numpy as jnp
import numpy as np
import pytest

from research.tasks.graph_regression import GraphRegression


class _FixedPredictions:
  def __call__(self, graph):
    del graph
    return self.predictions


def _batch(labels, example_mask):
  b = len(labels)
  return {
    "label": jnp.asarray(labels, jnp.float32),
    "example_mask": jnp.asarray(example_mask),
    "node_features": jnp.zeros((b, 2, 1)),
    "node_mask": jnp.ones((b, 2), bool),
    "senders": jnp.zeros((b, 1), jnp.int32),
    "receivers": jnp.zeros((b, 1), jnp.int32),
    "edge_mask": jnp.zeros((b, 1), bool),
  }


def test_mae_is_over_the_whole_split():
  task, model = GraphRegression(), _FixedPredictions()
  rng = np.random.default_rng(0)
  sums, errors = None, []
  for size in (5, 1, 3):  # unequal batches: a mean of batch means would differ
    labels, predictions = rng.normal(size=size), rng.normal(size=size)
    mask = np.ones(size, bool)
    mask[-1] = size != 3  # one padded example
    model.predictions = jnp.asarray(predictions[:, None], jnp.float32)
    out = task.eval_sums(model, _batch(labels, mask))
    sums = out if sums is None else {k: sums[k] + out[k] for k in sums}
    errors.append(np.abs(predictions - labels)[mask])
  metrics = task.finalize({k: np.asarray(v) for k, v in sums.items()})
  assert metrics["mae"] == pytest.approx(np.concatenate(errors).mean(), rel=1e-5)


def test_training_loss_is_the_l1_of_real_examples():
  task, model = GraphRegression(), _FixedPredictions()
  model.predictions = jnp.asarray([[1.0], [5.0], [100.0]])
  loss, metrics = task.loss(model, _batch([0.0, 3.0, 0.0], [True, True, False]))
  assert float(loss) == pytest.approx(1.5) and float(metrics["mae"]) == pytest.approx(1.5)


def test_wrong_output_shape_is_refused():
  task, model = GraphRegression(), _FixedPredictions()
  model.predictions = jnp.zeros((3, 2))
  with pytest.raises(ValueError, match=r"shape \[B, 1\]; got \(3, 2\)"):
    task.loss(model, _batch([0.0, 0.0, 0.0], [True] * 3))
