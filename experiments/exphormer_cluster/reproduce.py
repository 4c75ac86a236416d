"""Reproduce Exphormer's CLUSTER result (Shirzad et al., ICML 2023; papers/exphormer.yaml).

    python -m experiments.exphormer_cluster.reproduce            # 10 seeds × 150 epochs
    python -m experiments.exphormer_cluster.reproduce --quick    # 1 seed, 12 epochs

Runs the protocol of config.py's get_protocol() (research.analysis.reproduction); --help lists the flags.
"""

import os
import sys

from research.analysis import reproduction

if __name__ == "__main__":
  sys.exit(reproduction.main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py")))
