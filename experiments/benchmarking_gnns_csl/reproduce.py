"""Reproduce the CSL table of Benchmarking GNNs (Table 10; GatedGCN without PE from Table 13).

    python -m experiments.benchmarking_gnns_csl.reproduce              # paper: 3 models × 5 folds × 20 seeds
    python -m experiments.benchmarking_gnns_csl.reproduce --seeds=2    # the paper's protocol with its first 2 seeds
    python -m experiments.benchmarking_gnns_csl.reproduce --quick      # 5 folds × 1 seed, ≤ 100 epochs (`make run`)

Runs the protocol of config.py's get_protocol() (research.analysis.reproduction); --help lists the flags.
"""

import os
import sys

from research.analysis import reproduction

if __name__ == "__main__":
  sys.exit(reproduction.main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py")))
