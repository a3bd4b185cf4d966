"""`callback-kit serve`: run the mock. Its options are the fields of `mock_server.settings.Settings`, declared
there once; this module only turns those declarations into argparse options and the parsed values into
`Settings`, then calls `run(settings)`."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from callback_kit.mock_server.settings import Option, Settings, options, parser_for, value_kind


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per declared field of `Settings`; its variable is the one the declaration names."""
    add_declared_options(parser, Settings)


def add_declared_options(parser: argparse.ArgumentParser, of: type) -> None:
    """One option per declared field of the settings class `of` (serve's `Settings`, the proxy's own)."""
    fields = {f.name: f for f in dataclasses.fields(of)}
    for name, declared in options(of):
        kind = value_kind(name, of)
        default = declared.cli_default() if declared.cli_default else _field_default(fields[name])
        extra: dict[str, Any] = {"env": declared.env_name, "dest": name, "help": _help(declared)}
        if kind is bool and declared.words is None:
            parser.add_argument(declared.flag, action="store_true", **extra)
            continue
        if declared.words is not None:
            extra["choices"] = list(declared.words)
        elif isinstance(kind, tuple):
            extra["choices"] = list(kind)
        else:
            extra["type"] = _argparse_type(parser_for(name, of))
        # A default given in words is computed further in (None here keeps the field's own).
        shown = None if declared.default_text is not None else default
        parser.add_argument(declared.flag, metavar=declared.metavar, default=shown, **extra)


def run(args: argparse.Namespace) -> int:
    from callback_kit.mock_server.asgi import StartupError
    from callback_kit.mock_server.asgi import run as serve

    try:
        settings = Settings.from_options(vars(args))
        return serve(settings)
    except (StartupError, ValueError) as exc:
        print(f"callback-kit serve: {exc}", file=sys.stderr)
        return 2


def _field_default(declared: dataclasses.Field[Any]) -> Any:
    if declared.default_factory is not dataclasses.MISSING:
        return declared.default_factory()
    return declared.default


def _help(declared: Option) -> str:
    if declared.default_text is None:
        return declared.help
    return f"{declared.help} (default: {declared.default_text})"


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """The declaration's parser, its refusal as argparse's usage error (exit 2, with the usage)."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert
