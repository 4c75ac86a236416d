"""Reading run directories and sweeps into pandas, ablation tables and plots, and comparing with the papers.

- `runs`: `load_run`, `load_sweep` (one row per run of a sweep, with its status), `metric_curves`,
  `diagnostic_curves`.
- `aggregate`: mean ± std (ddof=1) and count over seeds per variant, `ablation_table` in markdown or LaTeX;
  diverged runs are left out, and named.
- `plots`: learning curves and gradient-norm curves per variant, per-module gradient norms of a run.
- `papers`: the papers' reported numbers (papers/*.yaml).
- `reproduction`: the one runner of every `reproduce.py`: a config's protocol run as a sweep, results against
  papers/.

In a notebook:

    from research.analysis import aggregate, plots, runs

    frame = runs.load_sweep("runs/gt_pattern/sweeps/ablation_pe")
    aggregate.ablation_table(frame, "best/test/accuracy_sbm", scale=100)
    plots.plot_learning_curves(runs.metric_curves("runs/gt_pattern/sweeps/ablation_pe"), metric="validation/loss")
"""
