"""`python -m pausable_sfn ...`, the same as the `pausable-sfn` command."""

import sys

from pausable_sfn.cli import main

sys.exit(main())
