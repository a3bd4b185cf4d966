"""`python -m callback_kit.mock_server [serve options]`: the same as `callback-kit serve`."""

import sys

from callback_kit.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
