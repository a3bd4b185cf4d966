"""`callback-kit contract`: judge a running implementation against the spec, for CI.

It builds the settings from the suite's one declaration of its options, then runs the suite's own runner
(`callback_kit.contract_tests.session`): the first line at once, a line per check, one report, the verdict
as the last line. Exit 0 passed (or partial), 1 failed (or partial with --require-all), 2 configuration
error, 130/143 interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from callback_kit.contract_tests.config import OPTIONS, Settings
from callback_kit.contract_tests.failures import ConfigurationError


class _Repeated(argparse.Action):
    """A repeatable option (`-H`): the command line's values replace a default taken from the environment."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        current = getattr(namespace, self.dest, None)
        items = list(current) if isinstance(current, list) else []
        setattr(namespace, self.dest, [*items, values])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's options (a `callback-kit` parser also reads each from `CALLBACK_KIT_<DEST>`).

    Values stay text here: `Settings.from_options` converts and checks them, with the same message whether
    a value came from the command line or from the environment.
    """
    for option in OPTIONS:
        flags: Sequence[str] = (option.short, option.flag) if option.short else (option.flag,)
        if option.kind == "flag":
            parser.add_argument(*flags, dest=option.dest, action="store_true", default=False, help=option.help)
            continue
        extra: dict[str, Any] = {"required": True} if option.required else {}
        if option.kind == "repeat":
            extra["action"] = _Repeated
        parser.add_argument(
            *flags, dest=option.dest, default=option.default, metavar=option.metavar, help=option.help, **extra
        )


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_options(vars(args))
    except ConfigurationError as exc:
        print(f"callback-kit contract: configuration error: {exc}", file=sys.stderr)
        return 2
    from callback_kit.contract_tests.session import Session  # the runner's imports are slower than the first line

    session = Session(settings)
    code = session.run()
    if session.abandoned:
        # A check is still blocked in a request: leave now, as promised, instead of waiting for its timeout.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
