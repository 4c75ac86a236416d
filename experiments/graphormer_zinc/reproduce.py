"""Reproduce Graphormer-Slim's ZINC result (Ying et al., NeurIPS 2021).

    python -m experiments.graphormer_zinc.reproduce --manual_dir=DIR            # 4 seeds × 400k updates
    python -m experiments.graphormer_zinc.reproduce --manual_dir=DIR --quick    # 1 seed, 20 epochs (780 updates)

Runs the protocol of config.py's get_protocol() (research.analysis.reproduction); --help lists the flags.
"""

import os
import sys

from research.analysis import reproduction

if __name__ == "__main__":
  sys.exit(reproduction.main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py")))
