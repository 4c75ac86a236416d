"""What computing GRIT's RRWP in every step costs, against storing it in the dataset records.

    python -m benchmarks.grit_rrwp_cost [--graphs=8] [--steps=3] [--sample=500]

GRIT's official code computes RRWP once, in a dataset pre-transform, and stores
it. We compute it inside the model for each batch (research/graph/rrwp.py,
`rrwp_dense`; research/models/graph/grit.py). This prints:
  - the time of `rrwp_dense` alone on a batch of `--graphs` PATTERN graphs
    (padded to 204 nodes, 21 channels), against one full GRIT training step
    (experiments/grit_pattern's model, forward + backward + Adam) on the same batch;
  - what storing [n, n, 21] float32 per graph would take for PATTERN's
    14,000 graphs, estimated from the n of `--sample` generated graphs.
Times are medians of `--steps` runs after one warm-up run. GRIT's batch of 32
graphs needs about 34 GB for the training step here (dense pair states
[32, 204, 204, 64] in each of 10 layers, kept for the backward pass), so the
default batch is 8 graphs; both times grow about linearly with it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from benchmarks.attention_scaling import median_seconds
from benchmarks.gps_layer_vs_pyg import pattern_graphs

PATTERN_GRAPHS = 10_000 + 2_000 + 2_000  # train + validation + test


def pattern_batch(num_graphs: int, max_nodes: int):
  """A GraphBatch of `num_graphs` PATTERN graphs with one-hot features and labels, one edge pack."""
  import jax.numpy as jnp

  from research.graph.batch import GraphBatch, pad_graphs

  records = [
    {
      "num_nodes": len(g.node_labels),
      "senders": g.senders,
      "receivers": g.receivers,
      "node_features": np.eye(3, dtype=np.float32)[g.node_inputs],
      "node_labels": g.node_labels,
    }
    for g in pattern_graphs(num_graphs)
  ]
  edges = sum(len(r["senders"]) for r in records)
  batch = pad_graphs(records, max_nodes, edges, graphs_per_pack=num_graphs)
  return GraphBatch.from_batch({k: jnp.asarray(v) for k, v in batch.items() if k != "node_labels"})


def grit_train_step(graph):
  """(jitted step, its arguments): GRIT PATTERN forward + backward + Adam on `graph`, loss = mean logit^2."""
  import jax
  import jax.numpy as jnp
  import optax
  from flax import nnx

  from experiments.grit_pattern import config as grit_config
  from research.models import build_model

  model_config = grit_config.get_config().model
  kwargs = {k: v for k, v in model_config.items() if k != "name"}
  graphdef, params, rest = nnx.split(build_model(model_config.name, rngs=nnx.Rngs(0), **kwargs), nnx.Param, ...)
  tx = optax.adam(5e-4)

  def step(params, rest, opt_state, graph):
    def loss(params):
      logits = nnx.merge(graphdef, params, rest, copy=True)(graph)  # copy: dropout may advance its rng
      return jnp.sum(jnp.where(graph.node_mask[..., None], logits, 0.0) ** 2) / jnp.sum(graph.node_mask)

    value, grads = jax.value_and_grad(loss)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value

  return jax.jit(step), (params, rest, tx.init(params), graph)


def stored_bytes(sample: int, channels: int) -> float:
  """Bytes of [n, n, channels] float32 for every PATTERN graph, from the mean n^2 of `sample` graphs."""
  sizes = np.array([len(g.node_labels) for g in pattern_graphs(sample, seed=1)], np.float64)
  return PATTERN_GRAPHS * float(np.mean(sizes**2)) * channels * 4


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--graphs", type=int, default=8, help="PATTERN graphs per batch (GRIT trains on 32)")
  parser.add_argument("--steps", type=int, default=3, help="timed runs per measurement (median)")
  parser.add_argument("--sample", type=int, default=500, help="generated graphs that estimate the stored size")
  args = parser.parse_args(argv)

  import jax
  from flax import nnx

  from configs.graph_budgets import SBM_MAX_NODES
  from research.graph.rrwp import GRIT_NUM_STEPS, rrwp_dense

  nnx.use_eager_sharding(False)
  graph = pattern_batch(args.graphs, SBM_MAX_NODES)
  senders, receivers, edge_mask = graph.per_graph_edges()
  rrwp = jax.jit(rrwp_dense, static_argnums=4)
  rrwp_s = median_seconds(lambda: rrwp(senders, receivers, edge_mask, graph.node_mask, GRIT_NUM_STEPS), args.steps)
  step, step_args = grit_train_step(graph)
  step_s = median_seconds(lambda: step(*step_args), args.steps)
  print(
    f"{args.graphs} PATTERN graphs padded to {SBM_MAX_NODES} nodes, {GRIT_NUM_STEPS} RRWP channels; "
    f"{jax.devices()[0].device_kind}, {jax.device_count()} device(s)."
  )
  print(f"rrwp_dense on the batch:          {1e3 * rrwp_s:9,.1f} ms")
  print(f"GRIT training step on the batch:  {1e3 * step_s:9,.1f} ms  (RRWP inside: {100 * rrwp_s / step_s:.1f} %)")
  print(
    f"storing RRWP for all {PATTERN_GRAPHS:,} PATTERN graphs: "
    f"{stored_bytes(args.sample, GRIT_NUM_STEPS) / 1e9:,.1f} GB (float32, [n, n, {GRIT_NUM_STEPS}] per graph)"
  )


if __name__ == "__main__":
  main()
