"""Procedural diagrams, laid out the way people draw them on a canvas.

One diagram is a set of elements (shapes, text boxes, sticky notes, containers)
and connectors between them, in canvas units (1 unit ~ 1 px at 100 % zoom).
`generate(seed, index)` draws diagram `index` from its own Generator, seeded
`[seed, index]`, so any diagram can be regenerated alone and in any order.

Families (`FAMILIES`) and how each is drawn:
- flowchart: a start terminator, 2-60 steps (process 60 %, decision 20 %,
  data/IO 20 %) and 1-2 end terminators. A decision branches: its side branch
  either loops back to an earlier step (35 %) or runs through a side step
  beside the next main step, merging into the step after. Layered top-down,
  or left-right (40 % of the charts with at most 12 layers): a step's layer
  is its longest forward path from the start, steps in a layer ordered by the
  mean position of their predecessors (one barycentre sweep, Sugiyama style).
- org_chart: a tree of 3-120 people with geometric branching (each person
  gets 1-6 reports, fewer with depth), tidy top-down layout: leaves side by
  side, each manager centred over its reports; in half of the charts a
  manager's reports who manage nobody are listed in one indented column.
- mind_map: a central topic with 3-8 main topics and 0-5 subtopics per topic,
  depth 2-4 (3-100 topics), radial layout: a subtree owns an angular sector
  proportional to its leaves, rings at growing radii.
- uml_class: 3-25 classes whose height follows their attribute and method
  counts (header + compartments), single inheritance (each class extends an
  earlier one with probability 0.5), layered with parents above, plus 0-n/3
  associations between unrelated classes.
- swimlane: 2-6 lanes (containers, label band on the left) and 4-25 steps
  handed from lane to lane (a step stays in the lane with probability 0.5),
  flowing left to right one column per step; decisions fork into two lanes
  and merge. Steps are children of their lane.
- sticky_notes: a kanban board (3-6 columns with 0-12 cards each, cards are
  children of their column) or loose clusters of square notes (1-6 clusters of
  2-20 notes in rough grids that may overlap, some inside a frame); no
  connectors.

Sizes and realism:
- Text lengths are log-normal per element type; a shape's width follows its
  text up to a type-specific maximum, after which text wraps and the height
  grows by one line per wrap. Sizes and positions snap to a GRID-unit grid.
- Then a diagram-wide "sloppiness" s ~ U(0, 1) perturbs it as a person would:
  each element moves by N(0, 3 s) units with probability s, and with
  probability 0.1 s by up to +-25 units (a misaligned element). Containers and
  their children move together.
- The diagram is translated so that its bounding box starts at a margin of
  20-60 units; the canvas is that box plus the margin on every side.
- Every diagram has 3 to MAX_ELEMENTS elements.

Outputs are numpy arrays (see `Diagram`); box = (x, y, w, h) of the top-left
corner and the size.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

GRID = 10.0
MAX_ELEMENTS = 200
FAMILIES = ("flowchart", "org_chart", "mind_map", "uml_class", "swimlane", "sticky_notes")
ELEMENT_TYPES = (
  "process",
  "decision",
  "terminator",
  "data_io",  # flowchart and swimlane steps
  "person",  # org chart
  "central_topic",
  "topic",  # mind map
  "class",  # UML
  "lane",
  "column",
  "frame",  # containers
  "sticky_note",
)
CONNECTOR_TYPES = ("flow", "loop_back", "reporting", "branch", "inheritance", "association")
DIRECTIONS = ("forward", "none")  # an arrow from source to target, or a plain line
T = {name: i for i, name in enumerate(ELEMENT_TYPES)}
C = {name: i for i, name in enumerate(CONNECTOR_TYPES)}
D = {name: i for i, name in enumerate(DIRECTIONS)}

# Text length (characters) ~ round(exp(N(mu, sigma))), clipped to [lo, hi], per element type.
TEXT_LENGTH = {
  "process": (3.0, 0.5, 3, 80),
  "decision": (2.8, 0.4, 3, 40),
  "terminator": (1.8, 0.4, 3, 15),
  "data_io": (2.9, 0.5, 3, 60),
  "person": (3.1, 0.3, 8, 50),
  "central_topic": (2.5, 0.4, 4, 30),
  "topic": (2.4, 0.6, 2, 50),
  "class": (2.4, 0.4, 4, 30),
  "lane": (2.3, 0.4, 3, 25),
  "column": (2.0, 0.4, 3, 20),
  "frame": (2.4, 0.5, 3, 40),
  "sticky_note": (3.2, 0.8, 0, 140),
}
# Box of a shape: (min width, max width, min height, width per character, height per text line).
SHAPE = {
  "process": (100, 220, 60, 7.0, 18),
  "decision": (100, 200, 80, 9.0, 18),
  "terminator": (80, 160, 40, 7.0, 18),
  "data_io": (110, 230, 60, 7.0, 18),
  "person": (140, 200, 70, 6.0, 16),
  "central_topic": (160, 260, 70, 9.0, 22),
  "topic": (60, 200, 30, 7.0, 16),
}


@dataclasses.dataclass
class Diagram:
  """One diagram: n elements, m connectors (int32 indices and ids, float32 geometry)."""

  family: int
  element_type: np.ndarray  # [n] ids into ELEMENT_TYPES
  boxes: np.ndarray  # [n, 4] x, y (top-left), w, h in canvas units
  text_length: np.ndarray  # [n] characters of the element's text
  parent: np.ndarray  # [n] index of the containing element, -1 if none
  connector_source: np.ndarray  # [m]
  connector_target: np.ndarray  # [m]
  connector_type: np.ndarray  # [m] ids into CONNECTOR_TYPES
  connector_direction: np.ndarray  # [m] ids into DIRECTIONS
  canvas: np.ndarray  # [2] width, height


class _Builder:
  """Accumulates elements (centre boxes) and connectors while a family lays a diagram out."""

  def __init__(self, rng: np.random.Generator):
    self.rng = rng
    self.types: list[int] = []
    self.centres: list[list[float]] = []  # cx, cy, w, h
    self.text: list[int] = []
    self.parent: list[int] = []
    self.edges: list[tuple[int, int, int, int]] = []

  def add(self, kind: str, w: float = 0.0, h: float = 0.0, text: int | None = None, parent: int = -1) -> int:
    """A new element of type `kind` (size from its text unless given); returns its index."""
    if text is None:
      text = text_length(self.rng, kind)
    if not w and kind in SHAPE:
      w, h = shape_size(kind, text)
    self.types.append(T[kind])
    self.centres.append([0.0, 0.0, w, h])
    self.text.append(text)
    self.parent.append(parent)
    return len(self.types) - 1

  def connect(self, source: int, target: int, kind: str, direction: str = "forward") -> None:
    self.edges.append((source, target, C[kind], D[direction]))

  def place(self, index: int, cx: float, cy: float) -> None:
    self.centres[index][0], self.centres[index][1] = cx, cy

  def size(self, index: int) -> tuple[float, float]:
    return self.centres[index][2], self.centres[index][3]


def snap(value: float) -> float:
  return round(value / GRID) * GRID


def text_length(rng: np.random.Generator, kind: str) -> int:
  mu, sigma, lo, hi = TEXT_LENGTH[kind]
  return int(min(max(round(math.exp(rng.normal(mu, sigma))), lo), hi))


def shape_size(kind: str, text: int) -> tuple[float, float]:
  """(w, h) of a shape holding `text` characters: width grows with the text, then the text wraps."""
  min_w, max_w, min_h, per_char, per_line = SHAPE[kind]
  w = min(max(min_w, 24 + per_char * text), max_w)
  chars_per_line = max((w - 24) / per_char, 1.0)
  lines = max(1, math.ceil(text / chars_per_line))
  h = max(min_h, 24 + per_line * lines)
  return snap(w), snap(h)


# ---- layouts shared by several families ----


def place_layers(b: _Builder, layers: list[list[int]], left_right: bool, gap_between: float, gap_within: float) -> None:
  """Layered placement: layer k on the k-th row (or column), each layer centred on the axis."""
  along = 0.0  # position of the current layer's centre line along the flow
  previous = 0.0
  for layer in layers:
    extent = max((b.size(i)[0 if left_right else 1] for i in layer), default=0.0)
    along += (previous + extent) / 2 + (gap_between if previous else 0.0)
    widths = [b.size(i)[1 if left_right else 0] for i in layer]
    across = -(sum(widths) + gap_within * (len(layer) - 1)) / 2
    for i, width in zip(layer, widths):
      centre = across + width / 2
      b.place(i, along, centre) if left_right else b.place(i, centre, along)
      across += width + gap_within
    previous = extent


def barycentre_order(layers: list[list[int]], predecessors: list[list[int]]) -> list[list[int]]:
  """One downward sweep: each layer sorted by the mean rank of its nodes' predecessors in earlier layers."""
  rank: dict[int, float] = {}
  ordered = []
  for layer in layers:

    def key(node: int) -> float:
      ranks = [rank[p] for p in predecessors[node] if p in rank]
      return sum(ranks) / len(ranks) if ranks else float(node)

    layer = sorted(layer, key=key)
    rank.update((node, float(k)) for k, node in enumerate(layer))
    ordered.append(layer)
  return ordered


def tidy_tree(b: _Builder, children: list[list[int]], root: int, gap_x: float, gap_y: float, stack: bool) -> None:
  """Top-down tidy tree: leaves side by side in depth-first order, parents centred over their children.

  With `stack`, a parent whose children are all leaves (two or more) lists them in one column below it,
  indented, as org charts often do to stay narrow.
  """
  row_height: dict[int, float] = {}
  row_of: dict[int, int] = {}
  next_left = 0.0
  indent = 30.0

  def put(node: int, cx: float, row: int) -> None:
    row_height[row] = max(row_height.get(row, 0.0), b.size(node)[1])
    row_of[node] = row
    b.centres[node][0] = cx

  def visit(node: int, depth: int) -> float:
    nonlocal next_left
    w, kids = b.size(node)[0], children[node]
    if stack and len(kids) >= 2 and not any(children[k] for k in kids):
      width = max(w, indent + max(b.size(k)[0] for k in kids))
      cx = next_left + width / 2
      for k, kid in enumerate(kids):
        put(kid, cx - width / 2 + indent + b.size(kid)[0] / 2, depth + 1 + k)
      next_left += width + gap_x
    elif kids:
      centres = [visit(kid, depth + 1) for kid in kids]
      cx = (centres[0] + centres[-1]) / 2
      next_left = max(next_left, cx + w / 2 + gap_x)
    else:
      cx = next_left + w / 2
      next_left += w + gap_x
    put(node, cx, depth)
    return cx

  visit(root, 0)
  row_centre, y = {}, 0.0
  for row in sorted(row_height):
    row_centre[row] = y + row_height[row] / 2
    y += row_height[row] + gap_y
  for node, row in row_of.items():
    b.centres[node][1] = row_centre[row]


# ---- families ----


def flowchart(b: _Builder) -> None:
  rng = b.rng
  num_steps = int(min(2 + rng.geometric(1 / 12), 60))
  start = b.add("terminator")
  frontier, pending, back_edges = start, [], []  # pending: [side step, steps until it merges]
  for _ in range(num_steps):
    kind = ("process", "decision", "data_io")[int(rng.choice(3, p=(0.6, 0.2, 0.2)))]
    step = b.add(kind)
    b.connect(frontier, step, "flow")
    for entry in pending:
      entry[1] -= 1
      if entry[1] == 0:
        b.connect(entry[0], step, "flow")
    pending = [entry for entry in pending if entry[1] > 0]
    if kind == "decision":
      if rng.random() < 0.35 and step > 1:
        back_edges.append((step, int(rng.integers(1, step))))
      else:  # a side step beside the next main step, merging into the one after it
        side = b.add("process")
        b.connect(step, side, "branch")
        pending.append([side, 2])
    frontier = step
  end = b.add("terminator")
  b.connect(frontier, end, "flow")
  for k, (side, _) in enumerate(pending):  # an open side branch ends at its own terminator now and then
    b.connect(side, b.add("terminator") if k == 0 and rng.random() < 0.3 else end, "flow")
  for source, target in back_edges:
    b.connect(source, target, "loop_back")
  layer_of = [0] * len(b.types)
  predecessors: list[list[int]] = [[] for _ in b.types]
  for source, target, kind, _ in b.edges:
    if kind != C["loop_back"]:
      predecessors[target].append(source)
  for node in range(len(b.types)):  # elements were created in topological order of the forward edges
    layer_of[node] = max((layer_of[p] + 1 for p in predecessors[node]), default=0)
  layers = [[] for _ in range(max(layer_of) + 1)]
  for node, layer in enumerate(layer_of):
    layers[layer].append(node)
  left_right = len(layers) <= 12 and rng.random() < 0.4  # long flowcharts are drawn top-down
  place_layers(
    b, barycentre_order(layers, predecessors), left_right, snap(rng.uniform(40, 90)), snap(rng.uniform(40, 90))
  )


def org_chart(b: _Builder) -> None:
  rng = b.rng
  target = int(min(3 + rng.geometric(1 / 18), 120))
  children: list[list[int]] = [[]]
  b.add("person")
  queue, depth = [0], {0: 0}
  while queue and len(b.types) < target:
    node = queue.pop(0)
    mean_reports = max(4.0 - depth[node], 1.2)
    for _ in range(int(min(1 + rng.poisson(mean_reports - 1), 6, target - len(b.types)))):
      child = b.add("person")
      children.append([])
      children[node].append(child)
      depth[child] = depth[node] + 1
      b.connect(node, child, "reporting", "none")
      queue.append(child)
  stack = rng.random() < 0.5
  gap_x = snap(rng.uniform(20, 60))
  gap_y = snap(rng.uniform(30, 50) if stack else rng.uniform(50, 90))
  tidy_tree(b, children, 0, gap_x, gap_y, stack)


def mind_map(b: _Builder) -> None:
  rng = b.rng
  max_depth = int(rng.integers(2, 5))
  children: list[list[int]] = [[]]
  b.add("central_topic")
  frontier = [(0, 0)]
  while frontier:
    node, depth = frontier.pop(0)
    if depth == max_depth:
      continue
    count = int(rng.integers(3, 9)) if depth == 0 else int(rng.integers(0, 6 - depth))
    for _ in range(min(count, 100 - len(b.types))):
      child = b.add("topic")
      children.append([])
      children[node].append(child)
      b.connect(node, child, "branch", "none")
      frontier.append((child, depth + 1))
  leaves = [0] * len(b.types)
  for node in reversed(range(len(b.types))):  # children have larger indices than their parents
    leaves[node] = sum(leaves[c] for c in children[node]) or 1
  ring = max(rng.uniform(170, 260), 110 * leaves[0] / (2 * math.pi * 0.8 * max_depth))  # room for every leaf
  start = rng.uniform(0, 2 * math.pi)

  def visit(node: int, depth: int, lo: float, hi: float) -> None:
    angle = (lo + hi) / 2
    radius = ring * depth * (1 + 0.15 * (depth > 1))
    b.place(node, radius * math.cos(angle), 0.6 * radius * math.sin(angle))  # mind maps spread wider than tall
    for child in children[node]:
      share = (hi - lo) * leaves[child] / leaves[node]
      visit(child, depth + 1, lo, lo + share)
      lo += share

  visit(0, 0, start, start + 2 * math.pi)


def uml_class(b: _Builder) -> None:
  rng = b.rng
  num_classes = int(rng.integers(3, 26))
  line, header = 18.0, 34.0
  extends = [-1] * num_classes
  for k in range(num_classes):
    attributes, methods = int(rng.integers(0, 9)), int(rng.integers(0, 9))
    longest_member = int(rng.integers(10, 41))
    w = snap(min(max(120.0, 20 + 7 * longest_member), 320.0))
    h = snap(header + (10 + line * attributes) + (10 + line * methods))
    b.add("class", w, h)
    if k and rng.random() < 0.5:
      extends[k] = int(rng.integers(0, k))
      b.connect(k, extends[k], "inheritance")
  related = {(k, extends[k]) for k in range(num_classes)} | {(extends[k], k) for k in range(num_classes)}
  for _ in range(int(rng.integers(0, num_classes // 3 + 1))):
    i, j = (int(v) for v in rng.choice(num_classes, 2, replace=False))
    if (i, j) not in related:
      b.connect(i, j, "association", "forward" if rng.random() < 0.5 else "none")
      related |= {(i, j), (j, i)}
  depth = [0] * num_classes
  for k in range(num_classes):
    depth[k] = depth[extends[k]] + 1 if extends[k] >= 0 else 0
  layers = [[] for _ in range(max(depth) + 1)]
  for k in range(num_classes):
    layers[depth[k]].append(k)
  parents = [[extends[k]] if extends[k] >= 0 else [] for k in range(num_classes)]
  place_layers(b, barycentre_order(layers, parents), False, snap(rng.uniform(60, 110)), snap(rng.uniform(40, 90)))


def swimlane(b: _Builder) -> None:
  rng = b.rng
  num_lanes, num_steps = int(rng.integers(2, 7)), int(rng.integers(4, 26))
  lanes = [b.add("lane", 1.0, 1.0) for _ in range(num_lanes)]  # sized once the steps are placed
  lane_of, column_of, steps = [], [], []
  lane, column, previous = int(rng.integers(0, num_lanes)), 0, []
  for k in range(num_steps):
    kind = (
      "terminator"
      if k in (0, num_steps - 1)
      else ("process", "decision", "data_io")[int(rng.choice(3, p=(0.65, 0.15, 0.2)))]
    )
    if k and rng.random() >= 0.5:
      lane = int(rng.integers(0, num_lanes))
    step = b.add(kind, parent=lanes[lane])
    for p in previous:
      b.connect(p, step, "flow")
    steps.append(step)
    lane_of.append(lane)
    column_of.append(column)
    previous = [step]
    if kind == "decision" and k < num_steps - 2:  # fork into two lanes, merge at the next step
      other = int((lane + rng.integers(1, num_lanes)) % num_lanes)
      side = b.add("process", parent=lanes[other])
      b.connect(step, side, "branch")
      steps.append(side)
      lane_of.append(other)
      column_of.append(column + 1)
      previous.append(side)
    column += 1
  column_width = max(b.size(s)[0] for s in steps) + snap(rng.uniform(30, 70))
  label_band = snap(rng.uniform(40, 70))
  lane_height = [0.0] * num_lanes
  for s, lane in zip(steps, lane_of):
    lane_height[lane] = max(lane_height[lane], b.size(s)[1] + snap(rng.uniform(40, 80)))
  total_width = label_band + column_width * (max(column_of) + 1)
  top = 0.0
  for lane, lane_element in enumerate(lanes):
    height = lane_height[lane] or 100.0
    b.centres[lane_element] = [total_width / 2, top + height / 2, total_width, height]
    for s, sl, col in zip(steps, lane_of, column_of):
      if sl == lane:
        b.place(s, label_band + column_width * (col + 0.5), top + height / 2)
    top += height


def sticky_notes(b: _Builder) -> None:
  rng = b.rng
  if rng.random() < 0.5:  # a kanban board
    card_w, card_h = snap(rng.uniform(140, 220)), snap(rng.uniform(70, 130))
    pad, gap, header = 10.0, snap(rng.uniform(10, 20)), 50.0
    x = 0.0
    for _ in range(int(rng.integers(3, 7))):
      cards = int(rng.integers(0, 13))
      width, height = card_w + 2 * pad, header + cards * (card_h + gap) + pad
      column = b.add("column", width, max(height, 200.0))
      b.place(column, x + width / 2, max(height, 200.0) / 2)
      for k in range(cards):
        card = b.add("sticky_note", card_w, card_h, parent=column)
        b.place(card, x + width / 2, header + k * (card_h + gap) + card_h / 2)
      x += width + snap(rng.uniform(20, 40))
    return
  x = 0.0
  for _ in range(int(rng.integers(1, 7))):  # loose clusters of square notes
    count, side = int(rng.integers(2, 21)), snap(rng.uniform(100, 200))
    per_row = max(1, round(math.sqrt(count) * rng.uniform(0.7, 1.4)))
    step = side * rng.uniform(0.9, 1.15)  # < side: neighbouring notes overlap
    rows = math.ceil(count / per_row)
    frame = -1
    if rng.random() < 0.4:
      frame_w, frame_h = per_row * step + 60, rows * step + 90
      frame = b.add("frame", snap(frame_w), snap(frame_h))
      b.place(frame, x + frame_w / 2, frame_h / 2)
    for k in range(count):
      note = b.add("sticky_note", side, side, parent=frame)
      b.place(
        note,
        x + 30 + (k % per_row + 0.5) * step + rng.normal(0, 8),
        60 + (k // per_row + 0.5) * step + rng.normal(0, 8),
      )
    x += per_row * step + 60 + snap(rng.uniform(40, 120))


LAYOUTS = (flowchart, org_chart, mind_map, uml_class, swimlane, sticky_notes)


# ---- realism and output ----


def perturb(b: _Builder, boxes: np.ndarray) -> np.ndarray:
  """Human imprecision on centre boxes [n, 4]: small jitter, now and then a misaligned element.

  A container's offset is applied to its children too, so containment is kept.
  """
  rng, n = b.rng, len(boxes)
  sloppiness = rng.random()
  offsets = rng.normal(0, 3 * sloppiness, size=(n, 2)) * (rng.random((n, 1)) < sloppiness)
  misaligned = rng.random((n, 1)) < 0.1 * sloppiness
  offsets += misaligned * rng.uniform(-25, 25, size=(n, 2))
  parent = np.asarray(b.parent)
  inherited = np.where(parent[:, None] >= 0, offsets[np.maximum(parent, 0)], 0.0)
  children = parent >= 0
  offsets[children] = inherited[children] + np.clip(offsets[children], -3.0, 3.0)  # children stay inside
  boxes = boxes.copy()
  boxes[:, :2] += offsets
  return boxes


def finish(b: _Builder, family: int) -> Diagram:
  """Centre boxes -> top-left boxes on a canvas with a margin."""
  centres = np.asarray(b.centres, np.float64)  # [n, 4]
  centres[:, :2] = np.round(centres[:, :2] / GRID) * GRID
  centres = perturb(b, centres)
  boxes = np.concatenate([centres[:, :2] - centres[:, 2:] / 2, centres[:, 2:]], axis=1)
  margin = snap(b.rng.uniform(20, 60))
  boxes[:, :2] += margin - boxes[:, :2].min(axis=0)
  canvas = (boxes[:, :2] + boxes[:, 2:]).max(axis=0) + margin
  edges = np.asarray(b.edges, np.int32).reshape(-1, 4)
  return Diagram(
    family=family,
    element_type=np.asarray(b.types, np.int32),
    boxes=boxes.astype(np.float32),
    text_length=np.asarray(b.text, np.int32),
    parent=np.asarray(b.parent, np.int32),
    connector_source=edges[:, 0].copy(),
    connector_target=edges[:, 1].copy(),
    connector_type=edges[:, 2].copy(),
    connector_direction=edges[:, 3].copy(),
    canvas=canvas.astype(np.float32),
  )


def generate(seed: int, index: int, family: int | None = None) -> Diagram:
  """Diagram `index` of the stream `seed`; its family is drawn uniformly unless given."""
  rng = np.random.default_rng([seed, index])
  family = int(rng.integers(len(FAMILIES))) if family is None else family
  if not 0 <= family < len(FAMILIES):
    raise ValueError(f"family={family} is not an index of FAMILIES {FAMILIES}.")
  while True:
    b = _Builder(rng)
    LAYOUTS[family](b)
    if 3 <= len(b.types) <= MAX_ELEMENTS:
      return finish(b, family)
