"""`python -m mock_server [serve options]`: the same as `callback-kit serve`."""

import sys

from mock_server.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
