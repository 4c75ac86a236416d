"""Reproduce GRIT's ZINC result (Table 2 of Ma et al., ICML 2023).

    python -m experiments.grit_zinc.reproduce --manual_dir=DIR            # paper protocol: 4 seeds × 2000 epochs
    python -m experiments.grit_zinc.reproduce --manual_dir=DIR --quick    # 1 seed, 20 epochs

Runs the protocol of config.py's get_protocol() (research.analysis.reproduction); --help lists the flags.
"""

import os
import sys

from research.analysis import reproduction

if __name__ == "__main__":
  sys.exit(reproduction.main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py")))
