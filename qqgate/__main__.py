"""``python -m qqgate``: the same as the ``qqgate`` console script."""

import sys

from qqgate.cli import main

sys.exit(main())
