"""Reproduce SAN's ZINC result (the SOTA-comparison table of Kreuzer et al., NeurIPS 2021).

    python -m experiments.san_zinc.reproduce --manual_dir=DIR            # paper protocol: 4 seeds, up to 1000 epochs
    python -m experiments.san_zinc.reproduce --manual_dir=DIR --quick    # 1 seed, 20 epochs

Runs the protocol of config.py's get_protocol() (research.analysis.reproduction); --help lists the flags.
"""

import os
import sys

from research.analysis import reproduction

if __name__ == "__main__":
  sys.exit(reproduction.main(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py")))
