"""Reproduce the Graph Transformer's PATTERN result (Dwivedi & Bresson, DLG-AAAI'21, Table 1; papers/gt.yaml).

    python -m experiments.gt_pattern.reproduce            # 4 seeds, until lr < 1e-6 (at most 1000 epochs)
    python -m experiments.gt_pattern.reproduce --quick    # 1 seed, at most 10 epochs

Runs the protocol of config.py's get_protocol() (research.analysis.reproduction); --help lists the flags.
"""

import os
import sys

from research.analysis import reproduction

if __name__ == "__main__":
  sys.exit(reproduction.main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py")))
