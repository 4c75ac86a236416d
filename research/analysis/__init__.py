"""Reading run directories and sweeps into pandas, ablation tables and plots, and comparing with the papers.

- `runs`: `load_run`, `load_sweep` (one row per run of a sweep), `metric_curves`, `diagnostic_curves`.
- `aggregate`: mean ± std (ddof=1) and count over seeds per variant, `ablation_table` in markdown or LaTeX.
- `plots`: learning curves and gradient-norm curves per variant, per-module gradient norms of a run.
- `reproduction`: the machinery of the `reproduce.py` scripts (results against papers/).

In a notebook:

    from research.analysis import aggregate, plots, runs

    frame = runs.load_sweep("runs/gt_pattern/sweeps/ablation_pe")
    aggregate.ablation_table(frame, "best/test/accuracy_sbm", scale=100)
    plots.plot_learning_curves(runs.metric_curves("runs/gt_pattern/sweeps/ablation_pe"), metric="validation/loss")
"""
