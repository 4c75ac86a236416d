"""Diagrams as graphs: nodes, features, edges and labels of a diagram, filtering, RWSE, padded batches."""

from __future__ import annotations

import collections
import math

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from research import data
from research.data import diagram_graphs
from research.data.synthetic_diagrams import builder
from research.data.synthetic_diagrams import generator as g
from research.errors import ConfigError

SWIMLANE = g.FAMILIES.index("swimlane")  # connectors and containment (steps inside lanes)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> str:
  """A TFDS data directory with synthetic_diagrams/tiny, built through research.data.prepare_dataset."""
  directory = str(tmp_path_factory.mktemp("tfds"))
  data.prepare_dataset(ml_collections.ConfigDict(dict(name="diagram_graphs", variant="tiny", data_dir=directory)))
  return directory


def pipeline_config(data_dir: str, **overrides) -> ml_collections.ConfigDict:
  config = dict(
    name="diagram_graphs",
    variant="tiny",
    data_dir=data_dir,
    max_nodes=20,
    rwse_steps=4,
    graphs_per_pack=4,
    max_edges=4 * 60,
    eval_max_edges=4 * 80,
    batch_size=8,
    eval_batch_size=8,
    num_threads=0,
    prefetch=2,
    cache=False,
  )
  return ml_collections.ConfigDict({**config, **overrides})


def test_a_generated_diagram_becomes_a_graph_of_its_elements():
  record = builder.make_record(g.generate(builder.SEED, 5, family=SWIMLANE), 5)
  graph = diagram_graphs.graph_of(record, rwse_steps=6)
  n = len(record["element_type"])
  assert graph["num_nodes"] == n and graph["node_features"].shape == (n, 6) and graph["rwse"].shape == (n, 6)
  np.testing.assert_array_equal(graph["node_labels"], record["element_type"])
  width, height = (float(v) for v in record["canvas"])
  for i, (x, y, w, h) in enumerate(record["boxes"].tolist()):
    expected = [
      (x + w / 2) / width,
      (y + h / 2) / height,
      w / width,
      h / height,
      math.log(w / h),
      math.log(1 + int(record["text_length"][i])),
    ]
    np.testing.assert_allclose(graph["node_features"][i], expected, rtol=1e-5, atol=1e-6)


def test_connectors_and_containments_are_edges_both_ways_with_their_ids():
  record = builder.make_record(g.generate(builder.SEED, 5, family=SWIMLANE), 5)
  graph = diagram_graphs.graph_of(record)
  expected = collections.Counter()
  for s, t, kind in zip(record["connector_source"], record["connector_target"], record["connector_type"]):
    expected[(int(s), int(t), 1 + 2 * int(kind))] += 1
    expected[(int(t), int(s), 2 + 2 * int(kind))] += 1
  for child, parent in enumerate(record["parent"].tolist()):
    if parent >= 0:
      expected[(parent, child, diagram_graphs.CONTAINS)] += 1
      expected[(child, parent, diagram_graphs.CONTAINED_IN)] += 1
  assert sum(record["parent"] >= 0) > 0 and len(record["connector_source"]) > 0
  got = collections.Counter(
    zip(graph["senders"].tolist(), graph["receivers"].tolist(), graph["edge_features"][:, 0].tolist())
  )
  assert got == expected
  assert graph["edge_features"].shape == (sum(expected.values()), 1) and graph["edge_features"].dtype == np.int32


def test_edge_ids_of_a_hand_made_diagram():
  record = {  # a lane (0) holding a decision (1) that branches to a process (2) outside it
    "num_elements": 3,
    "element_type": np.array([8, 1, 0]),
    "text_length": np.array([4, 10, 0]),
    "boxes": np.array([[0, 0, 400, 200], [20, 20, 100, 80], [300, 300, 100, 50]], np.float32),
    "canvas": np.array([500.0, 400.0]),
    "parent": np.array([-1, 0, -1]),
    "connector_source": np.array([1]),
    "connector_target": np.array([2]),
    "connector_type": np.array([g.CONNECTOR_TYPES.index("branch")]),
    "connector_direction": np.array([0]),
  }
  graph = diagram_graphs.graph_of(record)
  np.testing.assert_array_equal(graph["senders"], [1, 2, 0, 1])
  np.testing.assert_array_equal(graph["receivers"], [2, 1, 1, 0])
  np.testing.assert_array_equal(graph["edge_features"][:, 0], [7, 8, 13, 14])  # branch = connector type 3
  assert diagram_graphs.EDGE_VOCAB == 15 and diagram_graphs.NUM_CLASSES == 12
  np.testing.assert_allclose(graph["node_features"][2], [0.7, 0.8125, 0.2, 0.125, math.log(2.0), 0.0], rtol=1e-6)


def test_rwse_holds_return_probabilities_of_connectors_and_containments():
  record = builder.make_record(g.generate(builder.SEED, 5, family=SWIMLANE), 5)
  graph = diagram_graphs.graph_of(record, rwse_steps=3)
  n = graph["num_nodes"]
  neighbours = [set() for _ in range(n)]
  for s, r in zip(graph["senders"].tolist(), graph["receivers"].tolist()):
    neighbours[s].add(r)
    neighbours[r].add(s)
  two_steps = [sum(1 / (len(neighbours[i]) * len(neighbours[j])) for j in neighbours[i]) for i in range(n)]
  assert graph["rwse"].dtype == np.float32
  np.testing.assert_array_equal(graph["rwse"][:, 0], 0.0)  # no self-loops
  np.testing.assert_allclose(graph["rwse"][:, 1], two_steps, rtol=1e-5)
  assert "rwse" not in diagram_graphs.graph_of(record, rwse_steps=0)


def test_an_element_without_area_is_refused():
  record = builder.make_record(g.generate(builder.SEED, 5, family=SWIMLANE), 7)
  record["boxes"] = record["boxes"].copy()
  record["boxes"][2, 3] = 0.0
  with pytest.raises(ValueError, match="Diagram 7 has an element of zero"):
    diagram_graphs.graph_of(record)


def test_the_pipeline_leaves_out_large_diagrams_and_pads_to_static_shapes(data_dir):
  pipeline = data.build_pipeline(pipeline_config(data_dir), seed=0, train_rows=(0, 8), eval_rows=(0, 8))
  sizes = [len(g.generate(builder.SEED + builder.SPLIT_STREAMS["train"], i).element_type) for i in range(64)]
  assert len(pipeline.sources["train"]) == sum(n <= 20 for n in sizes) < 64
  shapes = {
    "node_features": ((8, 20, 6), np.float32),
    "node_labels": ((8, 20), np.int32),
    "rwse": ((8, 20, 4), np.float32),
    "node_mask": ((8, 20), bool),
    "senders": ((2, 240), np.int32),
    "edge_features": ((2, 240, 1), np.int32),
    "edge_mask": ((2, 240), bool),
  }
  batches = [batch for batch, _ in zip(pipeline.train_batches(0), range(3))]
  for batch in batches:
    for key, (shape, dtype) in shapes.items():
      assert batch[key].shape == shape and batch[key].dtype == dtype, key
  train = pipeline.sources["train"]
  first = [train[int(i)] for i in pipeline.train_indices(0)]
  np.testing.assert_array_equal(batches[0]["node_mask"].sum(1), [r["num_nodes"] for r in first])
  for b, graph in enumerate(first):
    np.testing.assert_array_equal(batches[0]["node_labels"][b, : graph["num_nodes"]], graph["node_labels"])
  assert batches[0]["edge_mask"].sum() == sum(len(r["senders"]) for r in first)
  evaluation = next(pipeline.eval_batches("test"))
  assert evaluation["senders"].shape == (2, 320) and evaluation["node_features"].shape == (8, 20, 6)


def test_a_pack_over_its_edge_budget_names_the_budget(data_dir):
  pipeline = data.build_pipeline(pipeline_config(data_dir, max_edges=8), seed=0, train_rows=(0, 8), eval_rows=(0, 8))
  with pytest.raises(ValueError, match="max_edges=8 per pack of 4 graph"):
    next(pipeline.train_batches(0))
  with pytest.raises(ConfigError, match=r"config.data.rwse_steps=-1 is out of range; it must be >= 0 \(0: no RWSE\)"):
    data.build_pipeline(pipeline_config(data_dir, rwse_steps=-1), seed=0, train_rows=(0, 8), eval_rows=(0, 8))


def test_prepare_dataset_builds_the_diagrams_the_graphs_are_read_from(data_dir):
  assert len(tfds.data_source("synthetic_diagrams/tiny", split="validation", data_dir=data_dir, download=False)) == 16
