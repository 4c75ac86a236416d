"""Rendering layouts and diagrams to PNG and SVG."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from research.data.synthetic_diagrams import generator as g
from research.layout import render


def test_centre_boxes_become_top_left_boxes_on_the_canvas():
  boxes = render.layout_boxes_from_centres(np.array([[0.5, 0.25, 0.2, 0.1]]), width=200, height=100)
  np.testing.assert_allclose(boxes, [[80.0, 20.0, 40.0, 10.0]])


@pytest.mark.parametrize("towards,expected", [((100.0, 5.0), (20.0, 5.0)), ((10.0, -50.0), (10.0, 0.0))])
def test_connectors_leave_a_box_on_its_border(towards, expected):
  box = np.array([0.0, 0.0, 20.0, 10.0])  # centre (10, 5)
  np.testing.assert_allclose(render._border_point(box, np.array(towards)), expected)


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_grids_of_layouts_and_diagrams_are_written(tmp_path, suffix):
  d = g.generate(0, 3, g.FAMILIES.index("swimlane"))
  draws = [
    functools.partial(
      render.draw_diagram,
      boxes=d.boxes,
      element_type=d.element_type,
      type_names=g.ELEMENT_TYPES,
      parent=d.parent,
      canvas=tuple(d.canvas),
      connectors=(d.connector_source, d.connector_target, d.connector_direction == 0),
    ),
    functools.partial(
      render.draw_layout,
      boxes=np.array([[0.1, 0.1, 0.3, 0.2], [0.5, 0.5, 0.2, 0.4]]),
      labels=np.array([0, 3]),
      mask=np.array([True, False]),
      label_names=["text", "a", "b", "image"],
    ),
  ]
  path = tmp_path / f"grid.{suffix}"
  render.save_grid(draws, str(path), columns=2)
  content = path.read_bytes()
  assert content.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in content[:1000]


def test_padding_is_not_drawn_and_every_diagram_element_is():
  import matplotlib.pyplot as plt

  fig, (left, right) = plt.subplots(1, 2)
  render.draw_layout(
    left, np.array([[0.1, 0.1, 0.3, 0.2], [0.5, 0.5, 0.2, 0.4]]), np.array([0, 1]), np.array([True, False])
  )
  assert len(left.patches) == 1 + 1  # the canvas and the one real box
  d = g.generate(0, 5, g.FAMILIES.index("flowchart"))
  render.draw_diagram(
    right,
    d.boxes,
    d.element_type,
    g.ELEMENT_TYPES,
    connectors=(d.connector_source, d.connector_target, d.connector_direction == 0),
  )
  assert len(right.patches) == 1 + len(d.boxes)
  assert len(right.texts) == len(d.connector_source)  # one annotation per connector
  plt.close(fig)


def test_bad_output_paths_and_empty_grids_are_refused(tmp_path):
  with pytest.raises(ValueError, match="writes .png or .svg files"):
    render.save_grid([lambda ax: None], str(tmp_path / "grid.pdf"))
  with pytest.raises(ValueError, match="at least one drawing"):
    render.save_grid([], str(tmp_path / "grid.png"))
