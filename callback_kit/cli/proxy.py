"""`callback-kit proxy`: the validating proxy in front of a real server. Its options are the fields of
`mock_server.proxy.ProxySettings`, declared there once and turned into options as `serve`'s are."""

from __future__ import annotations

import argparse
import sys

from callback_kit.cli.serve import add_declared_options
from callback_kit.mock_server.proxy.settings import ProxySettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_declared_options(parser, ProxySettings)


def run(args: argparse.Namespace) -> int:
    from callback_kit.mock_server.proxy.serve import StartupError
    from callback_kit.mock_server.proxy.serve import run as serve

    try:
        return serve(ProxySettings.from_options(vars(args)))
    except (StartupError, ValueError) as exc:
        print(f"callback-kit proxy: {exc}", file=sys.stderr)
        return 2
