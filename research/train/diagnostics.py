"""Gradient diagnostics: per-module norms inside the jitted step, and a report after the run.

In the step (`step_statistics`): global gradient norm before and after clipping,
parameter and update norms, per-module gradient norms and update/parameter ratios,
and which modules' gradients are non-finite. The trainer writes them to
`diagnostics.jsonl` and TensorBoard every `config.diagnostics.every_steps`.

After the run:

    python -m research.train.diagnostics WORKDIR [--out=PNG]

plots per-module gradient norms over steps and prints a verdict per module group
(exploding / vanishing / healthy).
"""

from __future__ import annotations

import collections
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from research import errors, rundir
from research.errors import UserError, WorkdirError

# Verdict thresholds, on the last quarter of the run relative to the first logged steps.
EXPLODING_GROWTH = 100.0  # gradient norm grew more than this factor, or ...
EXPLODING_ABSOLUTE = 1e3  # ... exceeds this value
VANISHING_ABSOLUTE = 1e-7  # gradient norm below this, or ...
VANISHING_RATIO = 1e-4  # ... below this fraction of the median group's norm


def _key_name(key: Any) -> str | None:
  for attr in ("key", "name", "idx"):
    if hasattr(key, attr):
      name = str(getattr(key, attr))
      return None if name == "value" else name
  return str(key)


def leaf_paths(tree: Any) -> list[str]:
  """'layers/0/attn/kernel'-style paths of the leaves, in tree order."""
  paths = []
  for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]:
    paths.append("/".join(n for n in map(_key_name, path) if n is not None))
  return paths


def module_of(path: str) -> str:
  """The module that owns a parameter: its path without the variable name."""
  return path.rsplit("/", 1)[0] if "/" in path else path


def module_names(tree: Any) -> list[str]:
  """Distinct module paths in tree order."""
  return list(dict.fromkeys(module_of(p) for p in leaf_paths(tree)))


def definition_order(model: Any) -> dict[str, int]:
  """Module paths in the order their attributes were assigned, which follows the forward
  pass for models written in the usual way (nnx.State itself is sorted by name)."""
  from flax import nnx

  order: dict[str, int] = {}

  def walk(module: Any, prefix: str) -> None:
    order.setdefault(prefix, len(order))
    for name, value in vars(module).items():
      if isinstance(value, nnx.Module) and not name.startswith("_"):
        walk(value, f"{prefix}/{name}" if prefix else name)

  walk(model, "")
  return order


def _module_sumsq(tree: Any) -> dict[str, jax.Array]:
  sums: dict[str, jax.Array] = collections.OrderedDict()
  for path, leaf in zip(leaf_paths(tree), jax.tree.leaves(tree)):
    module = module_of(path)
    sq = jnp.sum(jnp.square(leaf.astype(jnp.float32)))
    sums[module] = sums[module] + sq if module in sums else sq
  return sums


def statistic_names(params: Any) -> list[str]:
  """The keys of `step_statistics`, in the order of its packed vector."""
  modules = module_names(params)
  return [
    "grad_norm_global",
    "grad_norm_clipped",
    "param_norm",
    "update_norm",
    *(f"{kind}/{m}" for m in modules for kind in ("grad_norm", "update_ratio")),
  ]


def step_statistics(grads: Any, clipped_grad_norm: jax.Array, params: Any, updates: Any) -> jax.Array:
  """Scalars of one step packed in one vector (one transfer), in `statistic_names` order."""
  g, p, u = _module_sumsq(grads), _module_sumsq(params), _module_sumsq(updates)
  stats = {
    "grad_norm_global": jnp.sqrt(sum(g.values())),
    "grad_norm_clipped": clipped_grad_norm,
    "param_norm": jnp.sqrt(sum(p.values())),
    "update_norm": jnp.sqrt(sum(u.values())),
  }
  for module in g:
    stats[f"grad_norm/{module}"] = jnp.sqrt(g[module])
    stats[f"update_ratio/{module}"] = jnp.sqrt(u[module]) / (jnp.sqrt(p[module]) + 1e-12)
  return jnp.stack([stats[name] for name in statistic_names(params)])


def nonfinite_modules(grads: Any) -> jax.Array:
  """[num_modules] bool, True where a module's gradient has a NaN or inf (module_names order)."""
  flags: dict[str, jax.Array] = collections.OrderedDict()
  for path, leaf in zip(leaf_paths(grads), jax.tree.leaves(grads)):
    module = module_of(path)
    bad = jnp.logical_not(jnp.all(jnp.isfinite(leaf)))
    flags[module] = flags[module] | bad if module in flags else bad
  return jnp.stack(list(flags.values()))


class NonFiniteError(UserError, FloatingPointError):
  """The run diverged: a non-finite step with on_nonfinite='raise', too many skipped steps in a row with
  'skip_step', or non-finite final metrics. The trainer records it in final.json (status "diverged").

  `step`: the (last) non-finite step, when a step was non-finite.
  """

  def __init__(self, message: str, step: int | None = None):
    super().__init__(message)
    self.step = step


def describe_nonfinite(step: int, loss: float, modules: Sequence[str], bad: np.ndarray, order: dict[str, int]) -> str:
  """Names the module whose gradient went non-finite first in the backward pass.

  `order` ranks modules in forward order (`definition_order`); backpropagation
  reaches them in reverse, so the last bad one in forward order is the first to go bad.
  """
  bad_modules = sorted((m for m, b in zip(modules, bad) if b), key=lambda m: order.get(m, -1))
  where = "the loss" if not math.isfinite(loss) else "the gradient (loss is finite)"
  if not bad_modules:
    return f"Step {step}: {where} is non-finite (loss={loss}) but no module's gradient is."
  first = bad_modules[-1]
  others = ", ".join(bad_modules[:-1][-5:])
  more = f"; also non-finite: {others}" + (" ..." if len(bad_modules) > 6 else "") if others else ""
  return (
    f"Non-finite gradient at step {step}: first in the backward pass is module '{first}' "
    f"({where} non-finite, loss={loss}){more}. Lower the learning rate, enable grad_clip_norm, or set "
    "config.diagnostics.on_nonfinite='skip_step' to skip such steps."
  )


# ---------------------------------------------------------------- report


def read_jsonl(path: str) -> list[dict[str, Any]]:
  """diagnostics.jsonl's rows (a last line still being written left out)."""
  return rundir.read_step_rows(path)[0]


def module_group(module: str) -> str:
  """Groups modules by their first two path components ('layers/3/A' -> 'layers/3')."""
  return "/".join(module.split("/")[:2])


def group_series(rows: Sequence[dict[str, Any]]) -> dict[str, list[float]]:
  """Gradient norm of each module group at each logged step (root of summed squares)."""
  series: dict[str, list[float]] = collections.defaultdict(list)
  for row in rows:
    group_sq: dict[str, float] = collections.defaultdict(float)
    for key, value in row.items():
      if key.startswith("grad_norm/"):
        group_sq[module_group(key[len("grad_norm/") :])] += float(value) ** 2
    for group, sq in group_sq.items():
      series[group].append(math.sqrt(sq))
  return dict(series)


def verdicts(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
  """Exploding / vanishing / healthy per module group, from diagnostics.jsonl rows."""
  series = group_series(rows)
  if not series:
    return {}
  tail = {g: float(np.median(v[-max(1, len(v) // 4) :])) for g, v in series.items()}
  head = {g: float(np.median(v[: max(1, len(v) // 4)])) for g, v in series.items()}
  typical = float(np.median(list(tail.values())))
  out = {}
  for group in series:
    t, h = tail[group], head[group]
    if not math.isfinite(t) or t > EXPLODING_ABSOLUTE or (h > 0 and t / h > EXPLODING_GROWTH):
      out[group] = f"exploding (median norm {h:.3g} -> {t:.3g})"
    elif t < VANISHING_ABSOLUTE or (typical > 0 and t / typical < VANISHING_RATIO):
      out[group] = f"vanishing (median norm {t:.3g}, median over groups {typical:.3g})"
    else:
      out[group] = f"healthy (median norm {h:.3g} -> {t:.3g})"
  return out


def plot(rows: Sequence[dict[str, Any]], out_path: str, title: str = "") -> None:
  """Gradient norm per module group over steps (log scale), with each group's verdict,
  beside the global norms before/after clipping and the update norm."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  steps = [r["step"] for r in rows]
  series, verdict = group_series(rows), verdicts(rows)
  fig, (ax, ax_global) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2.2, 1]})
  cmap = plt.get_cmap("viridis", max(len(series), 1))
  for i, (group, values) in enumerate(series.items()):
    ax.plot(steps, values, color=cmap(i), lw=1.2, label=f"{group}: {verdict[group].split(' ')[0]}")
  ax.set_yscale("log")
  ax.set_xlabel("step")
  ax.set_ylabel("gradient norm")
  ax.set_title(title or "gradient norm per module group")
  ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
  for key, style in (("grad_norm_global", "-"), ("grad_norm_clipped", "--"), ("update_norm", ":")):
    ax_global.plot(steps, [r.get(key, np.nan) for r in rows], style, label=key)
  ax_global.set_yscale("log")
  ax_global.set_xlabel("step")
  ax_global.legend(fontsize=7)
  ax_global.set_title("global")
  fig.tight_layout()
  fig.savefig(out_path, dpi=90)
  plt.close(fig)


def report(workdir: str, out_path: str | None = None) -> tuple[str, dict[str, str]]:
  """Writes the PNG and returns (its path, verdicts)."""
  path = os.path.join(workdir, "diagnostics.jsonl")
  if not os.path.exists(path):
    raise WorkdirError(f"No diagnostics.jsonl in {workdir!r}: is it a run directory of `python -m experiments.run`?")
  rows = read_jsonl(path)
  if not rows:
    raise WorkdirError(f"{path} is empty: the run logged no diagnostics yet (config.diagnostics.every_steps).")
  out_path = out_path or os.path.join(workdir, "grad_norms.png")
  plot(rows, out_path, title=os.path.basename(os.path.normpath(workdir)))
  return out_path, verdicts(rows)


def main(argv: Sequence[str] | None = None) -> None:
  """The command line (argv without the program name)."""
  parser = errors.ArgumentParser(prog="python -m research.train.diagnostics", description=__doc__.split("\n\n")[0])
  parser.add_argument("workdir")
  parser.add_argument("--out", default=None, help="PNG path (default WORKDIR/grad_norms.png)")
  args = parser.parse_args(argv)
  out, verdict = report(args.workdir, args.out)
  print(f"wrote {out}")
  width = max(map(len, verdict), default=0)
  for group, text in verdict.items():
    print(f"  {group:<{width}}  {text}")


if __name__ == "__main__":
  raise SystemExit(errors.main_with_user_errors(main, sys.argv[1:]))
