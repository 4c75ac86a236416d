"""One GraphGPS layer, ours (JAX) against PyTorch Geometric's `GPSConv`, on the same CPU in one run.

    pip install -r requirements-baselines.lock      # or: pip install -e .[baselines]
    python -m benchmarks.gps_layer_vs_pyg [--steps=20] [--graphs=32] [--threads=N]

Workload: a batch of `--graphs` PATTERN graphs (the SBM generator of
research/data/sbm, ~117 nodes and ~5.7k directed edges each), hidden width 64,
4 heads, one layer = local GatedGCN + global multi-head attention + FFN with
BatchNorm, followed by a linear node readout; one training step =
forward + backward + Adam update. PyTorch runs `--threads` intra-op threads
(default: every core); XLA uses every core.

The two layers are not identical, and the PyG one does less work:
- Ours is GraphGPS's layer: its GatedGCN keeps edge states (C e_ij, edge
  BatchNorm, edge residual), which is most of the cost on PATTERN's dense graphs.
- PyG's `GPSConv` wraps a `ResGatedGraphConv`, the same gating without edge
  states. It is given `edge_dim=64` so that it reads the edge embedding, but it
  does not update it.

The script prints the median step time of each and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from research.data.sbm import generator

HIDDEN, HEADS = 64, 4


def pattern_graphs(num_graphs: int, seed: int = 0) -> list[generator.SbmGraph]:
  """`num_graphs` PATTERN training graphs from the official generator's parameters."""
  patterns = generator.make_patterns(seed, num_patterns=num_graphs)
  rng = np.random.default_rng(seed)
  return [generator.pattern_graph(rng, pattern) for pattern in patterns]


def time_steps(step, steps: int) -> float:
  """Median seconds of `step()` over `steps` calls, after 3 warm-up calls."""
  for _ in range(3):
    step()
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def ours(graphs: list[generator.SbmGraph], steps: int) -> float:
  import jax
  import jax.numpy as jnp
  import optax
  from flax import nnx

  from research.graph.batch import GraphBatch, pad_graphs
  from research.models.graph.gps import GPSLayer
  from research.nn.dense import dense

  nnx.use_eager_sharding(False)
  records = [
    {
      "num_nodes": len(g.node_labels),
      "senders": g.senders,
      "receivers": g.receivers,
      "node_features": np.eye(3, dtype=np.float32)[g.node_inputs],
      "node_labels": g.node_labels,
    }
    for g in graphs
  ]
  max_nodes = max(r["num_nodes"] for r in records)
  edges = sum(len(r["senders"]) for r in records)
  batch = pad_graphs(records, max_nodes, edges, graphs_per_pack=len(records))
  graph = GraphBatch.from_batch({k: jnp.asarray(v) for k, v in batch.items()})
  labels = jnp.asarray(batch["node_labels"])

  class OneLayer(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
      self.embed_nodes = dense(3, HIDDEN, rngs=rngs)
      self.edge = nnx.Param(jax.random.normal(rngs.params(), (HIDDEN,)))
      self.layer = GPSLayer(
        HIDDEN,
        local_model="gated_gcn",
        global_model="transformer",
        num_heads=HEADS,
        dropout=0.0,
        attn_dropout=0.0,
        batch_norm=True,
        layer_norm=False,
        rngs=rngs,
      )
      self.readout = dense(HIDDEN, 2, rngs=rngs)

    def __call__(self, graph: GraphBatch) -> jax.Array:
      h = self.embed_nodes(graph.node_features)
      e = jnp.broadcast_to(self.edge[...], graph.edge_mask.shape + (HIDDEN,))
      h, _ = self.layer(h, e, graph)
      return self.readout(h)

  model = OneLayer(nnx.Rngs(0))
  optimizer = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

  @nnx.jit
  def train_step(model, optimizer, graph, labels):
    def loss_fn(model):
      logits = model(graph)
      losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
      return jnp.sum(jnp.where(graph.node_mask, losses, 0.0)) / jnp.sum(graph.node_mask)

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss

  return time_steps(lambda: jax.block_until_ready(train_step(model, optimizer, graph, labels)), steps)


def pyg(graphs: list[generator.SbmGraph], steps: int) -> float:
  import torch
  from torch_geometric.nn import GPSConv, ResGatedGraphConv

  offsets = np.cumsum([0] + [len(g.node_labels) for g in graphs[:-1]])
  x = torch.tensor(np.eye(3, dtype=np.float32)[np.concatenate([g.node_inputs for g in graphs])])
  edge_index = torch.tensor(
    np.stack(
      [
        np.concatenate([g.senders + o for g, o in zip(graphs, offsets)]),
        np.concatenate([g.receivers + o for g, o in zip(graphs, offsets)]),
      ]
    ).astype(np.int64)
  )
  batch = torch.tensor(np.concatenate([np.full(len(g.node_labels), i) for i, g in enumerate(graphs)]))
  labels = torch.tensor(np.concatenate([g.node_labels for g in graphs]).astype(np.int64))

  class OneLayer(torch.nn.Module):
    def __init__(self):
      super().__init__()
      self.embed_nodes = torch.nn.Linear(3, HIDDEN)
      self.edge = torch.nn.Parameter(torch.randn(HIDDEN))
      self.layer = GPSConv(
        HIDDEN,
        ResGatedGraphConv(HIDDEN, HIDDEN, edge_dim=HIDDEN),
        heads=HEADS,
        attn_type="multihead",
        norm="batch_norm",
      )
      self.readout = torch.nn.Linear(HIDDEN, 2)

    def forward(self):
      h = self.embed_nodes(x)
      e = self.edge.expand(edge_index.shape[1], HIDDEN)
      return self.readout(self.layer(h, edge_index, batch, edge_attr=e))

  model = OneLayer()
  optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

  def train_step():
    optimizer.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(), labels)
    loss.backward()
    optimizer.step()

  return time_steps(train_step, steps)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--graphs", type=int, default=32)
  parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
  args = parser.parse_args()

  import torch

  torch.set_num_threads(args.threads)
  graphs = pattern_graphs(args.graphs)
  nodes, edges = sum(len(g.node_labels) for g in graphs), sum(len(g.senders) for g in graphs)
  print(
    f"{args.graphs} PATTERN graphs: {nodes} nodes, {edges} directed edges; hidden {HIDDEN}, {HEADS} heads; "
    f"{args.threads} threads; median of {args.steps} steps"
  )
  ours_s, pyg_s = ours(graphs, args.steps), pyg(graphs, args.steps)
  print(f"ours (JAX, GraphGPS layer with edge states):       {1000 * ours_s:8.1f} ms/step")
  print(f"PyG GPSConv + ResGatedGraphConv (no edge states):   {1000 * pyg_s:8.1f} ms/step")
  print(f"speed-up: {pyg_s / ours_s:.2f}x (target >= 1.5x)")


if __name__ == "__main__":
  main()
