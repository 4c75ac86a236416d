"""Drawing layouts and diagrams to PNG and SVG (matplotlib, no display needed).

- `draw_layout`: a layout of class-labelled boxes (RICO, PubLayNet, generated
  samples), each box outlined and filled in its class colour, on the canvas.
- `draw_diagram`: a diagram, with shapes by element type (diamonds for
  decisions, rounded boxes for terminators, parallelograms for data, ellipses
  for central topics, notes as filled squares), containers (lanes, columns,
  frames) behind their children, and connectors as straight lines between box
  borders, with an arrowhead when they are directed.
- `save_grid`: several of either on one figure, written as .png or .svg.

Boxes are top-left (x, y, w, h) in canvas units with y pointing down, as on a
screen; `layout_boxes_from_centres` converts normalised centre boxes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patches  # noqa: E402

PALETTE = plt.get_cmap("tab20").colors
# Diagram element type -> (shape, face colour, edge colour); unknown types are drawn as plain boxes.
DIAGRAM_STYLE = {
  "process": ("box", "#dbe9f6", "#2f6aa3"),
  "decision": ("diamond", "#fde9c8", "#c27c0e"),
  "terminator": ("round", "#d9f0d3", "#2e7d32"),
  "data_io": ("parallelogram", "#e8e1f5", "#5e35b1"),
  "person": ("round", "#e3f2fd", "#1565c0"),
  "central_topic": ("ellipse", "#ffe0b2", "#e65100"),
  "topic": ("round", "#fff3e0", "#ef6c00"),
  "class": ("class", "#f5f5f5", "#424242"),
  "lane": ("lane", "#fafafa", "#9e9e9e"),
  "column": ("container", "#f1f3f4", "#bdbdbd"),
  "frame": ("frame", "none", "#757575"),
  "sticky_note": ("note", "#fff59d", "#f9a825"),
}
CONTAINER_SHAPES = ("lane", "container", "frame")


def layout_boxes_from_centres(boxes: np.ndarray, width: float = 1.0, height: float = 1.0) -> np.ndarray:
  """Normalised centre boxes (cx, cy, w, h) [..., 4] -> top-left boxes in canvas units."""
  boxes = np.asarray(boxes, np.float64)
  scale = np.array([width, height, width, height])
  return np.concatenate([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., 2:]], axis=-1) * scale


def _frame_axes(ax: plt.Axes, width: float, height: float, title: str) -> None:
  ax.set_xlim(0, width)
  ax.set_ylim(height, 0)  # y down, as on a canvas
  ax.set_aspect("equal")
  ax.set_xticks([])
  ax.set_yticks([])
  ax.add_patch(patches.Rectangle((0, 0), width, height, facecolor="white", edgecolor="#cccccc", lw=0.8, zorder=0))
  if title:
    ax.set_title(title, fontsize=8)


def draw_layout(
  ax: plt.Axes,
  boxes: np.ndarray,
  labels: np.ndarray,
  mask: np.ndarray | None = None,
  *,
  canvas: tuple[float, float] = (1.0, 1.0),
  label_names: Sequence[str] | None = None,
  title: str = "",
) -> None:
  """One layout: top-left boxes [S, 4] in canvas units, labels [S], mask [S] (default: all real)."""
  boxes, labels = np.asarray(boxes), np.asarray(labels)
  mask = np.ones(len(boxes), bool) if mask is None else np.asarray(mask, bool)
  _frame_axes(ax, *canvas, title)
  order = np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")  # large boxes first, small ones on top
  for i in order[mask[order]]:
    colour = PALETTE[int(labels[i]) % len(PALETTE)]
    x, y, w, h = boxes[i]
    ax.add_patch(patches.Rectangle((x, y), w, h, facecolor=(*colour, 0.35), edgecolor=colour, lw=1.0, zorder=2))
    if label_names is not None:
      ax.text(x + w / 2, y + h / 2, label_names[int(labels[i])], fontsize=5, ha="center", va="center", zorder=3)


def _shape_patch(shape: str, x: float, y: float, w: float, h: float, face: str, edge: str) -> patches.Patch:
  common = dict(facecolor=face, edgecolor=edge, lw=0.9)
  if shape == "diamond":
    return patches.Polygon([(x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h), (x, y + h / 2)], **common)
  if shape == "parallelogram":
    slant = min(0.2 * w, 0.5 * h)
    return patches.Polygon([(x + slant, y), (x + w, y), (x + w - slant, y + h), (x, y + h)], **common)
  if shape == "ellipse":
    return patches.Ellipse((x + w / 2, y + h / 2), w, h, **common)
  if shape in ("round", "note"):
    radius = min(w, h) * (0.45 if shape == "round" else 0.05)
    return patches.FancyBboxPatch((x, y), w, h, boxstyle=f"round,pad=0,rounding_size={radius}", **common)
  if shape == "frame":
    return patches.Rectangle((x, y), w, h, linestyle="--", **common)
  return patches.Rectangle((x, y), w, h, **common)


def _border_point(box: np.ndarray, towards: np.ndarray) -> np.ndarray:
  """Where the ray from a box's centre towards `towards` leaves the box."""
  centre = box[:2] + box[2:] / 2
  d = towards - centre
  scale = min(box[2] / 2 / abs(d[0]) if d[0] else math.inf, box[3] / 2 / abs(d[1]) if d[1] else math.inf)
  return centre + d * min(scale, 1.0)


def _nesting_depth(parent: np.ndarray) -> np.ndarray:
  depth = np.zeros(len(parent), np.int32)
  for i in range(len(parent)):
    j = parent[i]
    while j >= 0:
      depth[i] += 1
      j = parent[j]
  return depth


def draw_diagram(
  ax: plt.Axes,
  boxes: np.ndarray,
  element_type: np.ndarray,
  type_names: Sequence[str],
  *,
  parent: np.ndarray | None = None,
  connectors: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
  curved: np.ndarray | None = None,
  canvas: tuple[float, float] | None = None,
  title: str = "",
) -> None:
  """One diagram: top-left boxes [n, 4], element types [n] (ids into `type_names`), parents [n]
  (-1: none), connectors (source [m], target [m], directed [m] bool); `curved` [m] bool draws
  those connectors as arcs (e.g. loop-backs, which would otherwise cross the boxes between)."""
  boxes = np.asarray(boxes, np.float64)
  n = len(boxes)
  parent = np.full(n, -1) if parent is None else np.asarray(parent)
  if canvas is None:
    canvas = tuple((boxes[:, :2] + boxes[:, 2:]).max(axis=0) + 20) if n else (1.0, 1.0)
  _frame_axes(ax, *canvas, title)
  names = [type_names[int(t)] for t in element_type]
  styles = [DIAGRAM_STYLE.get(name, ("box", "#eeeeee", "#616161")) for name in names]
  depth = _nesting_depth(parent)
  for i in sorted(range(n), key=lambda i: (styles[i][0] not in CONTAINER_SHAPES, depth[i])):
    shape, face, edge = styles[i]
    x, y, w, h = boxes[i]
    z = 1 + depth[i] if shape in CONTAINER_SHAPES else 5
    patch = _shape_patch(shape, x, y, w, h, face, edge)
    patch.set_zorder(z)
    ax.add_patch(patch)
    if shape == "class":  # header and the two compartments
      for k in (1, 2):
        line_y = y + min(34.0, h / 3) if k == 1 else y + (h + min(34.0, h / 3)) / 2
        ax.plot([x, x + w], [line_y, line_y], color=edge, lw=0.6, zorder=z)
    if shape == "lane":
      ax.plot([x + 50, x + 50], [y, y + h], color=edge, lw=0.6, zorder=z)
  if connectors is not None:
    curved = np.zeros(len(connectors[0]), bool) if curved is None else np.asarray(curved, bool)
    for s, t, directed, arc in zip(*connectors, curved):
      start = _border_point(boxes[s], boxes[t][:2] + boxes[t][2:] / 2)
      end = _border_point(boxes[t], boxes[s][:2] + boxes[s][2:] / 2)
      ax.annotate(
        "",
        xy=end,
        xytext=start,
        zorder=4,
        arrowprops=dict(
          arrowstyle="-|>" if directed else "-",
          color="#455a64",
          lw=0.8,
          shrinkA=0,
          shrinkB=0,
          mutation_scale=7,
          connectionstyle="arc3,rad=0.6" if arc else "arc3",
        ),
      )


def save_grid(
  draws: Sequence[Callable[[plt.Axes], None]], path: str, *, columns: int = 4, cell_inches: float = 3.0
) -> None:
  """Calls each `draw(ax)` on its own cell of a grid and writes the figure (.png or .svg by extension)."""
  if not path.endswith((".png", ".svg")):
    raise ValueError(f"save_grid writes .png or .svg files; got path={path!r}.")
  if not draws:
    raise ValueError("save_grid needs at least one drawing.")
  rows = math.ceil(len(draws) / columns)
  fig, axes = plt.subplots(rows, columns, figsize=(columns * cell_inches, rows * cell_inches), squeeze=False)
  for ax, draw in zip(axes.flat, draws):
    draw(ax)
  for ax in list(axes.flat)[len(draws) :]:
    ax.axis("off")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
