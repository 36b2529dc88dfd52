"""``python -m figures [NAMES] [--out DIR] [--size small|default] [--list]``."""

import sys

from theory_sim.cli import main

if __name__ == "__main__":
    sys.exit(main(["figures", *sys.argv[1:]]))
