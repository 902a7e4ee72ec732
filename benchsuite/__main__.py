"""``python -m benchsuite`` is the ``benchsuite`` command."""

import sys

from benchsuite.cli import main

sys.exit(main())
