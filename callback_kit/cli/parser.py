"""The argument parser of `callback-kit` and of every subcommand, whoever declares its options.

What each parser gets without its subcommand asking:
- options default to `CALLBACK_KIT_<DEST>` environment variables (or the name an option gives with `env=`), read
  from the mapping `main` hands down; a value from the environment is converted and checked like one from the
  command line, and a bad one is a usage error naming the variable;
- one metavar vocabulary (`METAVARS`), inferred where an option names none;
- help that shows each default and each variable.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

Number = TypeVar("Number", int, float)

# The words that stand for a value in every subcommand's help.
METAVARS = (
    "URL",
    "TOKEN",
    "SECRET",
    "PATH",
    "N",
    "SECONDS",
    "COMMAND",
    "HOST",
    "HEADER",
    "NAME[,NAME...]",
    "ID[,ID...]",
    "N[,N...]",
)
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
_TAKES_NO_VALUE = {"store_true", "store_false", "store_const", "count", "help", "version"}
# Set on each option's Action: the variable it reads and the default it was declared with (the variable's
# value may replace `default`, and help must not print a token that came from the environment).
_ENV = "kit_env"
_DECLARED = "kit_declared_default"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's declared default and its environment variable; descriptions kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if text == argparse.SUPPRESS:
            return text
        default = getattr(action, _DECLARED, action.default)
        hidden = default is None or default is False or default == argparse.SUPPRESS
        if not hidden and "(default" not in text and action.option_strings:
            shown = str(default).replace("%", "%%")  # help strings are %-formatted by argparse
            text = f"{text} (default: {shown})"
        env = getattr(action, _ENV, None)
        return f"{text} [env {env}]" if env else text


class KitParser(argparse.ArgumentParser):
    """An argument parser whose options default to environment variables, with the kit's help and metavars.

    A value from the environment counts only for the subcommand being run, and an empty variable counts as
    unset (CI systems export empty ones).
    """

    def __init__(self, *args: Any, environ: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.environ: Mapping[str, str] = environ if environ is not None else {}

    def add_argument(self, *args: Any, env: str | None = None, **kwargs: Any) -> argparse.Action:
        takes_value = kwargs.get("action") not in _TAKES_NO_VALUE and kwargs.get("nargs") != 0
        option = bool(args) and str(args[0]).startswith("-")
        if option and takes_value and "metavar" not in kwargs and "choices" not in kwargs:
            metavar = infer_metavar(str(args[0]), kwargs.get("dest"), kwargs.get("type"), kwargs.get("help"))
            if metavar is not None:
                kwargs["metavar"] = metavar
        action = super().add_argument(*args, **kwargs)
        if action.option_strings and kwargs.get("action") not in ("help", "version"):
            setattr(action, _ENV, env or f"CALLBACK_KIT_{action.dest.upper()}")
            setattr(action, _DECLARED, action.default)
        return action

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        problems = [problem for action in self._actions if (problem := self._apply_env(action))]
        parsed = super().parse_known_args(args, namespace)
        # After parsing, so that --help still works beside a bad variable.
        if problems:
            self.error("; ".join(problems))
        return parsed

    def _apply_env(self, action: argparse.Action) -> str | None:
        """Make the option's variable its default; the problem with its value, if any."""
        name = getattr(action, _ENV, None)
        raw = self.environ.get(name, "") if name else ""
        if not name or not raw:
            return None
        if action.nargs == 0:  # a flag: --json, --quiet
            word = raw.strip().lower()
            if word not in _BOOLEANS:
                return f"{name}={raw!r} must be one of {', '.join(_BOOLEANS)}"
            action.default = action.const if _BOOLEANS[word] else getattr(action, _DECLARED)
            return None
        try:
            value = action.type(raw) if callable(action.type) else raw
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            if action.type in (int, float):
                return f"{name}={raw!r} is not {'a whole number' if action.type is int else 'a number'}"
            return f"{name}={raw!r}: {exc}"
        if action.choices is not None and value not in action.choices:
            return f"{name}={raw!r} must be one of {', '.join(map(str, action.choices))}"
        action.default = value
        action.required = False
        return None


def number_in(
    kind: type[Number], low: Number, high: Number, *, above_low: bool = False, unit: str = ""
) -> Callable[[str], Number]:
    """An option type: a number of `kind` from `low` (or above it, with `above_low`) to `high`, else a usage error."""

    def convert(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a {'whole ' if kind is int else ''}number, got {text!r}"
            ) from None
        problem = out_of_range(value, low, high, above_low=above_low, unit=unit)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    convert.__name__ = kind.__name__
    return convert


def out_of_range(value: float, low: float, high: float, *, above_low: bool = False, unit: str = "") -> str | None:
    """`must be between 0 and 64, got 65` when `value` is out of range, else None: every subcommand's wording."""
    if (low < value if above_low else low <= value) and value <= high:  # NaN is in no range
        return None
    bounds = (
        f"more than {_shown(low)} and at most {_shown(high)}"
        if above_low
        else f"between {_shown(low)} and {_shown(high)}"
    )
    return f"must be {bounds}{unit}, got {_shown(value)}"


def _shown(number: float) -> str:
    """A number as a user would type it: `0`, not `0.0`."""
    return str(int(number)) if isinstance(number, float) and number.is_integer() else str(number)


def infer_metavar(flag: str, dest: str | None, kind: Any, help_text: str | None) -> str | None:
    """The vocabulary's word for an option that names none, from its type and name (None: argparse's own)."""
    name = (dest or flag.lstrip("-")).replace("-", "_").lower()
    if "comma-separated" in (help_text or "") or "comma separated" in (help_text or ""):
        return "NAME[,NAME...]"
    if kind is Path:
        return "PATH"
    if kind is int:
        return "N"
    if kind is float:
        return "SECONDS"
    for part, word in (("url", "URL"), ("token", "TOKEN"), ("secret", "SECRET"), ("command", "COMMAND")):
        if part in name:
            return word
    return "HOST" if name == "host" else None


def metavar_words(metavar: str) -> list[str]:
    """The vocabulary words a metavar uses (`mock|COMMAND` -> [`COMMAND`]); lower-case literals are not words."""
    return [part for part in metavar.split("|") if part and not part.islower()]
