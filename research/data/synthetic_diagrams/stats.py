"""Statistics, distribution plots and a sample grid of a built `synthetic_diagrams` dataset.

    python -m research.data.synthetic_diagrams.stats --data_dir=DIR [--config=full] [--split=train]
        [--limit=20000] [--out=research/data/synthetic_diagrams]

Prints a markdown table per family (diagrams, elements, connectors, canvas
size and aspect), a table of layout and diagram metrics per family
(research.layout.metrics and diagram_metrics, on the first 2,000 diagrams;
containers are left out of the layout metrics and of the node-connector
test, since they hold their children and connectors by design), and writes `distributions.png` (per family: elements per
diagram, element width and height, connectors per element) and `samples.png`
(the first 4 diagrams of each family in the split) into --out.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Sequence

import numpy as np

from research.data.synthetic_diagrams import generator as g


def read_split(data_dir: str, config: str, split: str, limit: int) -> list[dict[str, np.ndarray]]:
  import tensorflow_datasets as tfds

  import research.data.synthetic_diagrams  # noqa: F401  (registers the builder)

  source = tfds.data_source(f"synthetic_diagrams/{config}", split=split, data_dir=data_dir)
  return [source[i] for i in range(min(limit, len(source)))]


def by_family(records: Sequence[dict[str, np.ndarray]]) -> list[tuple[str, list[dict[str, np.ndarray]]]]:
  """(family name, its records) for every family present, in FAMILIES order."""
  groups = [(name, [r for r in records if r["family"] == family]) for family, name in enumerate(g.FAMILIES)]
  return [(name, chosen) for name, chosen in groups if chosen]


def family_table(records: Sequence[dict[str, np.ndarray]]) -> str:
  rows = [
    "| family | diagrams | elements (mean, range) | connectors (mean) | canvas w x h (median) | aspect w/h (5-95 %) |",
    "|---|---:|---|---:|---|---|",
  ]
  for name, chosen in by_family(records):
    elements = np.array([r["num_elements"] for r in chosen])
    connectors = np.array([len(r["connector_source"]) for r in chosen])
    canvas = np.array([r["canvas"] for r in chosen])
    aspect = canvas[:, 0] / canvas[:, 1]
    rows.append(
      f"| {name} | {len(chosen):,} | {elements.mean():.1f} ({elements.min()}-{elements.max()}) | "
      f"{connectors.mean():.1f} | {np.median(canvas[:, 0]):,.0f} x {np.median(canvas[:, 1]):,.0f} | "
      f"{np.percentile(aspect, 5):.2f}-{np.percentile(aspect, 95):.2f} |"
    )
  return "\n".join(rows)


def _padded(records: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
  """Records -> padded arrays: top-left and normalised centre boxes, masks, connectors."""
  from research.layout import boxes as boxes_lib

  size, edges = max(r["num_elements"] for r in records), max(max(len(r["connector_source"]) for r in records), 1)
  out = {
    "boxes": np.zeros((len(records), size, 4)),
    "mask": np.zeros((len(records), size), bool),
    "container": np.zeros((len(records), size), bool),
    "connectors": np.zeros((len(records), edges, 2), int),
    "connector_mask": np.zeros((len(records), edges), bool),
    "directed": np.zeros((len(records), edges), bool),
  }
  containers = [g.T["lane"], g.T["column"], g.T["frame"]]
  for b, r in enumerate(records):
    n, m = r["num_elements"], len(r["connector_source"])
    out["boxes"][b, :n], out["mask"][b, :n] = r["boxes"], True
    out["container"][b, :n] = np.isin(r["element_type"], containers)
    out["connectors"][b, :m] = np.stack([r["connector_source"], r["connector_target"]], -1)
    out["connector_mask"][b, :m] = True
    out["directed"][b, :m] = r["connector_direction"] == g.D["forward"]
  canvas = np.stack([r["canvas"] for r in records])  # [B, 2]
  top_left = boxes_lib.normalize(boxes_lib.ltwh_to_ltrb(out["boxes"]), canvas[:, 0], canvas[:, 1])
  out["normalised"] = boxes_lib.ltrb_to_cxcywh(top_left)
  return out


def metric_table(records: Sequence[dict[str, np.ndarray]]) -> str:
  from research.layout import diagram_metrics, metrics

  rows = [
    "| family | alignment x100 (LayoutGAN++) | overlap (LayoutGAN++) | connector crossings | "
    "connector length / diagonal | node-connector overlaps | flow consistency |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ]
  for name, chosen in by_family(records):
    a = _padded(chosen)
    shapes = a["mask"] & ~a["container"]
    edges = (a["boxes"], a["mask"], a["connectors"], a["connector_mask"])
    flow = diagram_metrics.flow_direction_consistency(*edges, directed=a["directed"])
    rows.append(
      f"| {name} | {100 * metrics.alignment_layoutganpp(a['normalised'], shapes).mean():.3f} | "
      f"{metrics.overlap_layoutganpp(a['normalised'], shapes).mean():.3f} | "
      f"{diagram_metrics.connector_crossings(*edges).mean():.2f} | "
      f"{diagram_metrics.connector_length(*edges).mean():.3f} | "
      f"{diagram_metrics.node_connector_overlaps(*edges, exclude=a['container']).mean():.2f} | "
      f"{f'{np.nanmean(flow):.3f}' if np.any(np.isfinite(flow)) else '–'} |"
    )
  return "\n".join(rows)


def plot_distributions(records: Sequence[dict[str, np.ndarray]], path: str) -> None:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  panels = (
    ("elements per diagram", lambda r: [r["num_elements"]], np.arange(0, 205, 5)),
    ("element width (units)", lambda r: r["boxes"][:, 2], np.arange(0, 1010, 20)),
    ("element height (units)", lambda r: r["boxes"][:, 3], np.arange(0, 1010, 20)),
    (
      "connectors per element (degree)",
      lambda r: np.bincount(
        np.concatenate([r["connector_source"], r["connector_target"]]), minlength=r["num_elements"]
      ),
      np.arange(-0.5, 12.5, 1),
    ),
  )
  fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4))
  for ax, (title, values, bins) in zip(axes, panels):
    for family, name in enumerate(g.FAMILIES):
      data = np.concatenate([np.asarray(values(r), np.float64) for r in records if r["family"] == family] or [[]])
      ax.hist(data, bins=bins, histtype="step", density=True, lw=1.2, label=name)
    ax.set_title(title, fontsize=9)
    ax.set_yscale("log")
  axes[0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_samples(records: Sequence[dict[str, np.ndarray]], path: str, per_family: int = 4) -> None:
  from research.layout import render

  draws = []
  for family, name in enumerate(g.FAMILIES):
    for r in [r for r in records if r["family"] == family][:per_family]:
      draws.append(
        functools.partial(
          render.draw_diagram,
          boxes=r["boxes"],
          element_type=r["element_type"],
          type_names=g.ELEMENT_TYPES,
          parent=r["parent"],
          canvas=tuple(r["canvas"]),
          connectors=(r["connector_source"], r["connector_target"], r["connector_direction"] == g.D["forward"]),
          curved=r["connector_type"] == g.C["loop_back"],
          title=f"{name} #{r['diagram_id']} ({r['num_elements']} elements)",
        )
      )
  render.save_grid(draws, path, columns=per_family)


def main(argv: Sequence[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", required=True)
  parser.add_argument("--config", default="full")
  parser.add_argument("--split", default="train")
  parser.add_argument("--limit", type=int, default=20_000, help="diagrams read (the first of the split)")
  parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
  args = parser.parse_args(argv)
  records = read_split(args.data_dir, args.config, args.split, args.limit)
  print(f"{len(records):,} diagrams of synthetic_diagrams/{args.config} {args.split}\n")
  print(family_table(records))
  print()
  print(metric_table(records[:2_000]))
  plot_distributions(records, os.path.join(args.out, "distributions.png"))
  plot_samples(records, os.path.join(args.out, "samples.png"))
  print(f"\nwrote {args.out}/distributions.png and samples.png")


if __name__ == "__main__":
  main()
