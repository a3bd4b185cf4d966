"""`python -m callback_kit [subcommand ...]`: the same as `callback-kit`."""

import sys

from callback_kit.cli import main

sys.exit(main())
