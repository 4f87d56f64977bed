"""`python -m s2sad ...`: the same command line as `s2sad ...`."""

import sys

from s2sad.cli import main

sys.exit(main())
