"""Teaching demos: short narrative notebooks kept as jupytext percent-format scripts.

``theory-sim demo --list`` names them; ``theory-sim demo NAME`` writes ``NAME.ipynb`` to open in
Jupyter. Each runs in well under a minute; CI executes every one.
"""

from pathlib import Path

DEMOS = {p.stem: p for p in sorted(Path(__file__).parent.glob("[!_]*.py"))}
