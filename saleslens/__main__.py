"""Entry point of `python -m saleslens`."""

import sys

from saleslens.cli import main

sys.exit(main())
