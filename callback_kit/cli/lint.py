"""`callback-kit lint [SPEC]`: is this spec one the kit can run on?"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "spec", nargs="?", type=Path, metavar="PATH", help="the spec to check (default: the kit's openapi.yaml)"
    )


def run(args: argparse.Namespace) -> int:
    from callback_kit.contract.lint import lint_main

    return lint_main(args.spec)
