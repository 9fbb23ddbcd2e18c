"""``python -m reductions`` runs the command line."""

import sys

from reductions.cli import main

sys.exit(main())
