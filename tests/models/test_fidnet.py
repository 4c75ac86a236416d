"""FIDNetV3: shapes, set symmetry of its features, padding, and its parameter count."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from research.models import build_model

nnx.use_eager_sharding(False)
LABELS, SLOTS = 5, 8


def _model(**kwargs):
  model = build_model(
    "fidnet_v3", rngs=nnx.Rngs(0), num_labels=LABELS, max_elements=SLOTS, dim=32, num_heads=4, num_layers=2, **kwargs
  )
  model.eval()
  return model


def _layouts(seed=0, sizes=(3, 8, 1)):
  rng = np.random.default_rng(seed)
  boxes = rng.uniform(0.05, 0.95, size=(len(sizes), SLOTS, 4)).astype(np.float32)
  labels = rng.integers(0, LABELS, size=(len(sizes), SLOTS)).astype(np.int32)
  mask = np.arange(SLOTS)[None] < np.asarray(sizes)[:, None]
  return boxes, labels, mask


def test_outputs_have_the_documented_shapes_and_ranges():
  logit, label_logits, boxes = _model()(*map(jnp.asarray, _layouts()))
  assert logit.shape == (3,) and label_logits.shape == (3, SLOTS, LABELS) and boxes.shape == (3, SLOTS, 4)
  assert np.all((np.asarray(boxes) > 0) & (np.asarray(boxes) < 1))


def test_features_ignore_element_order_and_padding_contents():
  model = _model()
  boxes, labels, mask = _layouts()
  features = model.features(jnp.asarray(boxes), jnp.asarray(labels), jnp.asarray(mask))
  perm = np.random.default_rng(1).permutation(SLOTS)
  shuffled = model.features(jnp.asarray(boxes[:, perm]), jnp.asarray(labels[:, perm]), jnp.asarray(mask[:, perm]))
  np.testing.assert_allclose(shuffled, features, rtol=1e-4, atol=1e-5)  # no positional input in the encoder
  garbage = boxes.copy()
  garbage[~mask] = 123.0
  changed = model.features(jnp.asarray(garbage), jnp.asarray(np.where(mask, labels, 4)), jnp.asarray(mask))
  np.testing.assert_allclose(changed, features, rtol=1e-5, atol=1e-6)


def test_real_slots_do_not_see_padding_in_the_decoder():
  model = _model()
  boxes, labels, mask = _layouts(sizes=(3, 5))
  _, label_logits, out = model(*map(jnp.asarray, (boxes, labels, mask)))
  garbage = np.where(mask[..., None], boxes, 0.5)
  _, label_logits2, out2 = model(*map(jnp.asarray, (garbage, labels, mask)))
  np.testing.assert_allclose(np.asarray(out2)[mask], np.asarray(out)[mask], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(label_logits2)[mask], np.asarray(label_logits)[mask], rtol=1e-5, atol=1e-6)


def test_layoutdm_configuration_has_the_official_parameter_count():
  # torch FIDNetV3(num_label=25, max_bbox=25) of layout-dm's fid/model.py has 2,925,598 parameters.
  model = nnx.eval_shape(lambda: build_model("fidnet_v3", rngs=nnx.Rngs(0), num_labels=25, max_elements=25))
  assert sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param))) == 2_925_598


def test_dropout_is_live_in_training_only():
  model = _model()
  inputs = tuple(map(jnp.asarray, _layouts()))
  model.train()
  assert not np.allclose(model.features(*inputs), model.features(*inputs))
  model.eval()
  np.testing.assert_array_equal(model.features(*inputs), model.features(*inputs))


def test_bad_inputs_are_refused():
  boxes, labels, mask = _layouts()
  with pytest.raises(ValueError, match="max_elements=4"):
    build_model("fidnet_v3", rngs=nnx.Rngs(0), num_labels=LABELS, max_elements=4, dim=32, num_layers=1)(
      *map(jnp.asarray, (boxes, labels, mask))
    )
  with pytest.raises(ValueError, match="labels \\[B, S\\]"):
    _model().features(jnp.asarray(boxes), jnp.asarray(labels[:, :3]), jnp.asarray(mask))
  with pytest.raises(ValueError, match="divisible by num_heads"):
    build_model("fidnet_v3", rngs=nnx.Rngs(0), num_labels=LABELS, max_elements=SLOTS, dim=30, num_heads=4)
