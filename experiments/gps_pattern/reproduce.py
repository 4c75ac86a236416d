"""Reproduce GraphGPS's PATTERN result (Table 2 of Rampášek et al., NeurIPS 2022).

    python -m experiments.gps_pattern.reproduce            # paper protocol: 10 seeds × 100 epochs
    python -m experiments.gps_pattern.reproduce --quick    # 1 seed, 8 epochs (CPU)

Runs the protocol of config.py's get_protocol() (research.analysis.reproduction); --help lists the flags.
"""

import os
import sys

from research.analysis import reproduction

if __name__ == "__main__":
  sys.exit(reproduction.main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py")))
