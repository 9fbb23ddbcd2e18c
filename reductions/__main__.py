"""``python -m reductions`` runs the command line."""

import sys

from reductions.app.cli import main

sys.exit(main())
