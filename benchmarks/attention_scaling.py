"""Dense full attention against Exphormer's sparse attention as graphs grow: step time and memory.

    python -m benchmarks.attention_scaling [--sizes=64,128,...,8192] [--total_nodes=4096] [--steps=3]
                                           [--memory_cap_gb=4]

Workload, per size n (nodes per graph): max(1, total_nodes // n) random graphs
of n nodes in one batch, every node real, hidden width 64, 4 heads. Each graph
has ~8 directed edges per node (4n random undirected pairs, both directions)
and Exphormer's expander edges of degree 3 (3 random permutations, 6 edges per
node; research/graph/expander.py); no virtual nodes. One step = forward and
backward (gradients of the parameters and the input) of one attention layer:
  - dense: research.nn.attention.MultiHeadAttention over all n nodes of a
    graph (Q, K, V projections and softmax attention with a key mask);
  - sparse: research.models.graph.exphormer.ExphormerAttention along the real
    edges (with per-edge features) and the expander edges (one shared
    feature), the graphs' edges packed into one list.
Memory is XLA's own account of the compiled step
(`jax.jit(f).lower(...).compile().memory_analysis()`: arguments + outputs +
temporaries), which needs no run; a dense step above --memory_cap_gb is not run
and printed as "skipped", and neither are the larger sizes after it (by
default 8192, whose dense step needs 4,106 MB). Time is the median of --steps
runs after one warm-up run. Up to 4096 the batch holds the same number of
nodes at every size, so the sparse step's work stays about constant while the
dense step's grows linearly in n (quadratically per graph). The default run
takes about a minute on an idle 2-core CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

HIDDEN, HEADS = 64, 4
EDGES_PER_NODE = 8  # directed
EXPANDER_DEGREE = 3  # permutations: 6 expander edges per node


def random_graph(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
  """A record with n nodes, ~EDGES_PER_NODE * n directed edges and expander edges of degree 3."""
  from research.graph.expander import expander_edges

  pairs = rng.integers(0, n, size=(EDGES_PER_NODE * n // 2, 2))
  senders = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int32)
  receivers = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int32)
  exp_senders, exp_receivers = expander_edges(n, EXPANDER_DEGREE, rng)
  return {
    "num_nodes": n,
    "node_features": np.zeros((n, 1), np.float32),  # unused: the step reads random node states
    "senders": senders,
    "receivers": receivers,
    "expander_senders": exp_senders,
    "expander_receivers": exp_receivers,
  }


def memory_bytes(compiled) -> int | None:
  """Arguments + outputs + temporaries of a compiled function, as XLA accounts them (None if unknown)."""
  stats = compiled.memory_analysis()
  if stats is None:
    return None
  return (
    stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes - stats.alias_size_in_bytes
  )


def median_seconds(run: Callable[[], object], steps: int) -> float:
  import jax

  jax.block_until_ready(run())  # warm-up
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    jax.block_until_ready(run())
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def build_steps(n: int, num_graphs: int, seed: int):
  """(dense step, sparse step, their arguments, real and expander edge counts) for one size."""
  import jax
  import jax.numpy as jnp
  from flax import nnx

  from research.graph.batch import GraphBatch, pad_graphs
  from research.models.graph.exphormer import AttentionEdges, ExphormerAttention
  from research.nn.attention import MultiHeadAttention

  rng = np.random.default_rng(seed)
  records = [random_graph(n, rng) for _ in range(num_graphs)]
  real = sum(len(r["senders"]) for r in records)
  expander = sum(len(r["expander_senders"]) for r in records)
  padded = pad_graphs(records, n, real, graphs_per_pack=num_graphs, max_expander_edges=expander)
  graph = GraphBatch.from_batch({k: jnp.asarray(v) for k, v in padded.items()})
  h = jnp.asarray(rng.normal(size=(num_graphs, n, HIDDEN)), jnp.float32)
  edge_features = jnp.asarray(rng.normal(size=(1, real, HIDDEN)), jnp.float32)

  dense_model = MultiHeadAttention(HIDDEN, HEADS, rngs=nnx.Rngs(0))
  sparse_model = ExphormerAttention(HIDDEN, HEADS, rngs=nnx.Rngs(0))
  expander_feature = jnp.asarray(rng.normal(size=(HIDDEN,)), jnp.float32)
  dense_def, dense_params = nnx.split(dense_model)
  sparse_def, sparse_params = nnx.split(sparse_model)

  def dense_loss(params, h, graph):
    out = nnx.merge(dense_def, params)(h, mask=graph.node_mask)
    return jnp.sum(out**2)

  def sparse_loss(params, h, graph):
    edge_sets = [
      AttentionEdges(graph.senders, graph.receivers, graph.edge_mask, edge_features),
      AttentionEdges(graph.expander_senders, graph.expander_receivers, graph.expander_mask, expander_feature),
    ]
    out, _ = nnx.merge(sparse_def, params)(h, graph, edge_sets)
    return jnp.sum(out**2)

  grad = lambda loss: jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
  return (grad(dense_loss), dense_params), (grad(sparse_loss), sparse_params), (h, graph), real, expander


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="64,128,256,512,1024,2048,4096,8192", help="nodes per graph, comma-separated")
  parser.add_argument("--total_nodes", type=int, default=4096, help="nodes per batch (graphs = total // size, >= 1)")
  parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement (median)")
  parser.add_argument("--memory_cap_gb", type=float, default=4.0, help="dense steps above this are skipped")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)

  import jax
  from flax import nnx

  nnx.use_eager_sharding(False)
  cap = args.memory_cap_gb * 2**30
  print(
    f"One attention layer, forward + backward; hidden {HIDDEN}, {HEADS} heads; {args.total_nodes} nodes per batch; "
    f"{jax.devices()[0].device_kind}, {jax.device_count()} device(s)."
  )
  print("| nodes/graph | graphs | real + expander edges | dense ms | dense MB | sparse ms | sparse MB |")  # MB = 2^20 B
  print("|---:|---:|---:|---:|---:|---:|---:|")
  dense_stopped = None
  for n in (int(s) for s in args.sizes.split(",")):
    num_graphs = max(1, args.total_nodes // n)
    (dense_step, dense_params), (sparse_step, sparse_params), (h, graph), real, expander = build_steps(
      n, num_graphs, args.seed
    )
    sparse_compiled = sparse_step.lower(sparse_params, h, graph).compile()
    sparse_mb = memory_bytes(sparse_compiled) / 2**20
    sparse_ms = 1e3 * median_seconds(lambda: sparse_compiled(sparse_params, h, graph), args.steps)
    if dense_stopped is None:
      dense_compiled = dense_step.lower(dense_params, h, graph).compile()
      dense_bytes = memory_bytes(dense_compiled)
      if dense_bytes is not None and dense_bytes > cap:
        dense_stopped = n
        dense_ms, dense_mb = "skipped", f"needs {dense_bytes / 2**20:,.0f} > cap {cap / 2**20:,.0f}"
    if dense_stopped is None:
      dense_ms = f"{1e3 * median_seconds(lambda: dense_compiled(dense_params, h, graph), args.steps):,.1f}"
      dense_mb = f"{dense_bytes / 2**20:,.0f}"
    elif dense_stopped != n:
      dense_ms = dense_mb = "skipped"
    print(
      f"| {n:,} | {num_graphs} | {real:,} + {expander:,} | {dense_ms} | {dense_mb} | {sparse_ms:,.1f} | "
      f"{sparse_mb:,.0f} |",
      flush=True,
    )


if __name__ == "__main__":
  main()
