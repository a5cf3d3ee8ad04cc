"""``python -m tinygrad_ce``: the ``tinygrad-ce`` command."""

import sys

from tinygrad_ce.cli import main

sys.exit(main())
