"""Gradient diagnostics: logged every N steps, non-finite gradients named, report command."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from experiments.benchmarking_gnns_csl import config as csl_config
from research import models
from research.graph.batch import GraphBatch
from research.nn.dense import dense
from research.train import diagnostics, train_and_evaluate


class SqrtAtZero(nnx.Module):
  """A graph classifier whose `culprit` layer has an infinite derivative (sqrt at 0)."""

  def __init__(self, *, node_in_dim: int, out_dim: int, rngs: nnx.Rngs):
    self.embed = dense(node_in_dim, 8, rngs=rngs)
    self.before = dense(8, 8, rngs=rngs)
    self.culprit = dense(8, 8, rngs=rngs)
    self.head = dense(8, out_dim, rngs=rngs)

  def __call__(self, graph: GraphBatch) -> jax.Array:
    h = self.before(self.embed(graph.node_features))  # [B, N, 8]
    h = jnp.sqrt(jnp.abs(self.culprit(h)) * 0.0)  # value 0, derivative inf * 0 = NaN
    return self.head(h.mean(axis=1))  # [B, out]


models.register_model("sqrt_at_zero", SqrtAtZero)


def _config(workdir: str, data_dir: str, on_nonfinite: str):
  config = csl_config.get_config("smoke")
  config.model = csl_config.ml_collections.ConfigDict({"name": "sqrt_at_zero", "node_in_dim": 1, "out_dim": 10})
  config.data.data_dir = data_dir
  config.diagnostics.on_nonfinite = on_nonfinite
  config.total_steps = 6
  config.log_every_steps = 2
  config.workdir = workdir
  return config


def test_nonfinite_gradient_stops_naming_module_and_step(csl_data_dir, tmp_path):
  with pytest.raises(diagnostics.NonFiniteError) as error:
    train_and_evaluate(_config(str(tmp_path), csl_data_dir, "raise"), str(tmp_path))
  message = str(error.value)
  assert "step 1" in message and "module 'culprit'" in message, message
  assert "loss is finite" in message


def test_nonfinite_gradient_skip_step_keeps_parameters(csl_data_dir, tmp_path):
  final = train_and_evaluate(_config(str(tmp_path), csl_data_dir, "skip_step"), str(tmp_path))
  assert final["step"] == 6
  rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert all(np.isfinite(r["train/loss"]) for r in rows if "train/loss" in r)


def test_diagnostics_are_logged_and_reported(csl_data_dir, tmp_path, capsys):
  config = csl_config.get_config("smoke,model=gated_gcn")
  config.data.data_dir = csl_data_dir
  train_and_evaluate(config, str(tmp_path))
  rows = diagnostics.read_jsonl(str(tmp_path / "diagnostics.jsonl"))
  assert [r["step"] for r in rows] == list(range(3, 19, 3))
  keys = rows[0].keys()
  for key in ("grad_norm_global", "grad_norm_clipped", "param_norm", "update_norm"):
    assert key in keys
  assert any(k.startswith("grad_norm/layers/0/") for k in keys)
  assert any(k.startswith("update_ratio/layers/1/") for k in keys)
  # the per-module norms add up to the global norm
  module_sq = sum(v**2 for k, v in rows[0].items() if k.startswith("grad_norm/"))
  assert np.isclose(np.sqrt(module_sq), rows[0]["grad_norm_global"], rtol=1e-4)

  diagnostics.main([str(tmp_path)])
  out = capsys.readouterr().out
  assert os.path.getsize(tmp_path / "grad_norms.png") > 10_000
  assert "layers/0" in out and ("healthy" in out or "vanishing" in out or "exploding" in out)


def test_verdicts_flag_exploding_and_vanishing_groups():
  rows = [
    {"step": s, "grad_norm/layers/0/A": 1.0 * 10 ** (s / 2), "grad_norm/layers/1/A": 1e-9, "grad_norm/readout/fc": 1.0}
    for s in range(1, 13)
  ]
  verdict = diagnostics.verdicts(rows)
  assert verdict["layers/0"].startswith("exploding")
  assert verdict["layers/1"].startswith("vanishing")
  assert verdict["readout/fc"].startswith("healthy")


def test_definition_order_follows_assignment_not_names():
  nnx.use_eager_sharding(False)
  model = SqrtAtZero(node_in_dim=1, out_dim=2, rngs=nnx.Rngs(0))
  order = diagnostics.definition_order(model)
  assert sorted(["embed", "before", "culprit", "head"], key=order.get) == ["embed", "before", "culprit", "head"]
