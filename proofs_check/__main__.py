"""``python -m proofs_check``: the same as the ``proofs-check`` command."""

import sys

from .cli import main

sys.exit(main())
