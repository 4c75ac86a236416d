"""The procedural diagram generator and its TFDS builder."""

from __future__ import annotations

import hashlib
import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

from research.data import synthetic_diagrams
from research.data.synthetic_diagrams import generator as g

PER_FAMILY = 40


def _diagrams(family: int) -> list[g.Diagram]:
  return [g.generate(7, 1000 * family + i, family) for i in range(PER_FAMILY)]


def _centres(d: g.Diagram) -> np.ndarray:
  return d.boxes[:, :2] + d.boxes[:, 2:] / 2


def test_a_diagram_is_a_function_of_seed_and_index():
  a, b, c = g.generate(3, 11), g.generate(3, 11), g.generate(3, 12)
  for field in ("element_type", "boxes", "text_length", "parent", "connector_source", "connector_target", "canvas"):
    np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
  assert a.family == b.family
  assert a.boxes.shape != c.boxes.shape or not np.array_equal(a.boxes, c.boxes)


@pytest.mark.parametrize("family", range(len(g.FAMILIES)))
def test_every_diagram_is_well_formed(family):
  for d in _diagrams(family):
    n, m = len(d.element_type), len(d.connector_source)
    assert 3 <= n <= g.MAX_ELEMENTS and d.family == family
    assert d.boxes.shape == (n, 4) and d.text_length.shape == d.parent.shape == (n,)
    assert np.all(d.boxes[:, 2:] > 0), "every element has a positive size"
    assert np.all(d.boxes[:, :2] >= 0) and np.all(d.boxes[:, :2] + d.boxes[:, 2:] <= d.canvas + 1e-3)
    assert d.connector_target.shape == d.connector_type.shape == d.connector_direction.shape == (m,)
    assert np.all(
      (0 <= d.connector_source) & (d.connector_source < n) & (0 <= d.connector_target) & (d.connector_target < n)
    )
    assert np.all(d.connector_source != d.connector_target)
    assert np.all((d.parent >= -1) & (d.parent < n)) and np.all(d.parent != np.arange(n))
    containers = np.isin(d.element_type, [g.T["lane"], g.T["column"], g.T["frame"]])
    children = d.parent >= 0
    assert np.all(containers[d.parent[children]]), "only lanes, columns and frames contain elements"
    parent_boxes = d.boxes[d.parent[children]]
    centres = _centres(d)[children]
    assert np.all((centres >= parent_boxes[:, :2]) & (centres <= parent_boxes[:, :2] + parent_boxes[:, 2:])), (
      "a child's centre lies inside its container"
    )


def _is_tree(d: g.Diagram) -> bool:
  n = len(d.element_type)
  if len(d.connector_source) != n - 1:
    return False
  parent_of = {}
  for s, t in zip(d.connector_source, d.connector_target):
    if t in parent_of:
      return False
    parent_of[t] = s
  return len(parent_of) == n - 1 and 0 not in parent_of


def test_org_charts_and_mind_maps_are_trees_drawn_from_the_root():
  for d in _diagrams(g.FAMILIES.index("org_chart")):
    assert _is_tree(d)
    assert np.all(d.connector_direction == g.D["none"])
    # A report sits below its manager.
    assert np.all(_centres(d)[d.connector_target, 1] > _centres(d)[d.connector_source, 1])
  for d in _diagrams(g.FAMILIES.index("mind_map")):
    assert _is_tree(d)
    assert np.sum(d.element_type == g.T["central_topic"]) == 1 and d.element_type[0] == g.T["central_topic"]


def test_flowcharts_flow_one_way_and_decisions_branch_twice():
  for d in _diagrams(g.FAMILIES.index("flowchart")):
    types = d.element_type
    assert np.sum(types == g.T["terminator"]) >= 2
    for decision in np.flatnonzero(types == g.T["decision"]):
      assert np.sum(d.connector_source == decision) == 2
    forward = d.connector_type != g.C["loop_back"]
    delta = _centres(d)[d.connector_target[forward]] - _centres(d)[d.connector_source[forward]]
    assert np.all(delta[:, 1] > 0) or np.all(delta[:, 0] > 0), "downstream is below (top-down) or right"


def test_uml_inheritance_is_a_forest_with_parents_above():
  for d in _diagrams(g.FAMILIES.index("uml_class")):
    inherits = d.connector_type == g.C["inheritance"]
    child, parent = d.connector_source[inherits], d.connector_target[inherits]
    assert len(set(child.tolist())) == len(child), "single inheritance"
    assert np.all(parent < child)  # so no cycles
    assert np.all(_centres(d)[parent, 1] < _centres(d)[child, 1])


def test_swimlane_steps_live_in_lanes_and_sticky_notes_have_no_connectors():
  for d in _diagrams(g.FAMILIES.index("swimlane")):
    lanes = d.element_type == g.T["lane"]
    assert 2 <= lanes.sum() <= 6
    assert np.all(lanes[d.parent[~lanes]]), "every step has a lane"
  for d in _diagrams(g.FAMILIES.index("sticky_notes")):
    assert len(d.connector_source) == 0
    assert np.all(np.isin(d.element_type, [g.T["sticky_note"], g.T["column"], g.T["frame"]]))


def test_families_are_drawn_uniformly():
  counts = np.bincount([g.generate(1, i).family for i in range(600)], minlength=len(g.FAMILIES))
  assert np.all(np.abs(counts - 100) < 40), counts


def test_unknown_family_is_refused():
  with pytest.raises(ValueError, match="family=6 is not an index"):
    g.generate(0, 0, family=6)


def _build(data_dir: pathlib.Path) -> dict[str, str]:
  synthetic_diagrams.prepare(data_dir, "tiny")
  files = sorted((data_dir / "synthetic_diagrams" / "tiny").glob("*/*.array_record*"))
  return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_builder_writes_the_generator_s_diagrams_byte_identically(tmp_path):
  first, second = _build(tmp_path / "a"), _build(tmp_path / "b")
  assert len(first) == 3 and first == second
  source = tfds.data_source("synthetic_diagrams/tiny", split="validation", data_dir=str(tmp_path / "a"))
  assert len(source) == 16
  for i in (0, 15):
    record, expected = source[i], g.generate(synthetic_diagrams.builder.SEED + 1, i)
    assert record["diagram_id"] == i and record["family"] == expected.family
    assert record["num_elements"] == len(expected.element_type)
    np.testing.assert_array_equal(record["boxes"], expected.boxes)
    np.testing.assert_array_equal(record["connector_target"], expected.connector_target)
  sizes = {
    split: len(tfds.data_source("synthetic_diagrams/tiny", split=split, data_dir=str(tmp_path / "a")))
    for split in ("train", "test")
  }
  assert sizes == {"train": 64, "test": 16}


def test_stats_prints_both_tables_and_draws_both_figures(tmp_path, capsys):
  from research.data.synthetic_diagrams import stats

  synthetic_diagrams.prepare(tmp_path, "tiny")
  stats.main(["--data_dir", str(tmp_path), "--config", "tiny", "--out", str(tmp_path)])
  out = capsys.readouterr().out
  assert "64 diagrams of synthetic_diagrams/tiny train" in out
  assert "| family | diagrams |" in out and "| family | alignment x100 (LayoutGAN++) |" in out
  assert (tmp_path / "distributions.png").stat().st_size > 10_000
  assert (tmp_path / "samples.png").stat().st_size > 10_000
