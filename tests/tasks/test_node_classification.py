"""Node classification: class-weighted losses and the whole-split class-averaged accuracy."""

import jax.numpy as jnp
import numpy as np
import pytest

from research.tasks.node_classification import NodeClassification, class_weights, weighted_cross_entropy


class _FixedLogits:
  """A stand-in model that returns the logits stored in the batch."""

  def __call__(self, graph):
    del graph
    return self.logits


def _batch(labels, node_mask, example_mask=None):
  b, n = labels.shape
  return {
    "node_labels": jnp.asarray(labels),
    "node_mask": jnp.asarray(node_mask),
    "node_features": jnp.zeros((b, n, 1)),
    "senders": jnp.zeros((b, 1), jnp.int32),
    "receivers": jnp.zeros((b, 1), jnp.int32),
    "edge_mask": jnp.zeros((b, 1), bool),
    "example_mask": jnp.asarray(np.ones(b, bool) if example_mask is None else example_mask),
  }


def _log_softmax(x):
  x = x - x.max(-1, keepdims=True)
  return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_class_weights_follow_benchmarking_gnns():
  labels = np.array([[0, 0, 0, 1, 2, 9]])  # the last node is padding
  mask = np.array([[True] * 5 + [False]])
  # V = 5 real nodes: counts (3, 1, 1, 0) -> weights ((5-3)/5, 4/5, 4/5, 0 for the absent class)
  np.testing.assert_allclose(class_weights(jnp.asarray(labels), jnp.asarray(mask), 4), [0.4, 0.8, 0.8, 0.0], rtol=1e-6)


def test_multiclass_loss_is_torch_weighted_nll():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 5, 3)).astype(np.float32)
  labels = rng.integers(0, 3, size=(2, 5))
  mask = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], bool)
  real_labels, real_logp = labels[mask], _log_softmax(logits.astype(np.float64))[mask]
  counts = np.bincount(real_labels, minlength=3)
  w = (mask.sum() - counts) / mask.sum()
  # torch.nn.functional.nll_loss(log_softmax, y, weight=w): sum_i w_{y_i} (-logp_i[y_i]) / sum_i w_{y_i}
  nll = -real_logp[np.arange(len(real_labels)), real_labels]
  expected = np.sum(w[real_labels] * nll) / np.sum(w[real_labels])
  got = weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(labels), jnp.asarray(mask))
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_binary_loss_is_graphgym_weighted_bce():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(2, 4, 1)).astype(np.float32)
  labels = np.array([[1, 0, 0, 0], [0, 1, 0, 1]])
  mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
  y, z = labels[mask].astype(np.float64), logits[..., 0][mask].astype(np.float64)
  counts = np.bincount(labels[mask], minlength=2)
  w = (mask.sum() - counts) / mask.sum()
  bce = -(y * np.log(1 / (1 + np.exp(-z))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-z))))
  expected = np.mean(w[labels[mask]] * bce)  # F.binary_cross_entropy_with_logits(weight=w[y]), mean reduction
  got = weighted_cross_entropy(jnp.asarray(logits), jnp.asarray(labels), jnp.asarray(mask))
  np.testing.assert_allclose(got, expected, rtol=1e-5)


def _accuracy_sbm_reference(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
  """Benchmarking GNNs' accuracy_SBM over one flat set of nodes, with a loop per class."""
  total = 0.0
  for c in range(num_classes):
    members = labels == c
    if members.any():
      total += np.sum(predictions[members] == c) / members.sum()
  return total / num_classes


def test_class_averaged_accuracy_is_computed_over_the_whole_split():
  rng = np.random.default_rng(2)
  task = NodeClassification()
  model = _FixedLogits()
  all_labels, all_predictions, sums = [], [], None
  for size in (3, 7, 2):  # batches of different sizes: per-batch averaging would weigh them equally
    labels = rng.integers(0, 3, size=(size, 6))
    node_mask = rng.random((size, 6)) < 0.8
    example_mask = np.ones(size, bool)
    example_mask[-1] = size == 2  # a padded example in two of the batches
    model.logits = jnp.asarray(rng.normal(size=(size, 6, 3)).astype(np.float32))
    out = task.eval_sums(model, _batch(labels, node_mask, example_mask))
    sums = out if sums is None else {k: sums[k] + out[k] for k in sums}
    real = node_mask & example_mask[:, None]
    all_labels.append(labels[real])
    all_predictions.append(np.argmax(np.asarray(model.logits), -1)[real])
  metrics = task.finalize({k: np.asarray(v) for k, v in sums.items()})
  labels, predictions = np.concatenate(all_labels), np.concatenate(all_predictions)
  assert metrics["accuracy_sbm"] == pytest.approx(_accuracy_sbm_reference(labels, predictions, 3), rel=1e-6)
  assert metrics["accuracy"] == pytest.approx(np.mean(labels == predictions), rel=1e-6)


def test_training_loss_ignores_padded_examples_and_nodes():
  task = NodeClassification()
  model = _FixedLogits()
  labels = np.array([[0, 1, 1], [1, 0, 0]])
  model.logits = jnp.asarray(np.random.default_rng(3).normal(size=(2, 3, 2)).astype(np.float32))
  node_mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
  loss, metrics = task.loss(model, _batch(labels, node_mask, np.array([True, False])))
  expected = weighted_cross_entropy(model.logits[:1, :2], jnp.asarray(labels[:1, :2]), jnp.ones((1, 2), bool))
  np.testing.assert_allclose(loss, expected, rtol=1e-6)
  assert 0.0 <= float(metrics["accuracy"]) <= 1.0
