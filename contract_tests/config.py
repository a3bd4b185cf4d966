"""The suite's options, declared once, and the frozen `Settings` both entry points build from them.

`callback-kit contract` turns them into argparse options (its parser maps each to `CALLBACK_KIT_<DEST>`);
the pytest plugin into `--callback-kit-<flag>` options whose defaults come from the same variables, read in
`environment_default`. `Settings.from_options` converts and checks every value, whichever way it came.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from callback_kit.cli.parser import out_of_range
from callback_kit.contract import default_spec_path
from callback_kit.contract.spec import SpecProblem, read_spec
from callback_kit.contract_tests.divergences.catalogue import parse_accepted
from callback_kit.contract_tests.failures import ConfigurationError

FactoryKind = Literal["mock", "command"]
Surface = Literal["cli", "plugin"]  # `callback-kit contract`, or the pytest plugin
PLUGIN_PREFIX = "--callback-kit-"
DEFAULT_SEED = 42
DEFAULT_MAX_EXAMPLES = 100
DEFAULT_TIMEOUT = 10.0
DEFAULT_TTL_PAUSE = 2.0
# One rule for the seed and the answer timeout of every subcommand (contract, fuzz, replay).
SEEDS = (0, 2**64 - 1)
MAX_TIMEOUT = 3600
ENV_PREFIX = "CALLBACK_KIT_"
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
_HEADER = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")
_RESERVED = ("authorization", "content-type", "content-length", "host")


@dataclass(frozen=True)
class Option:
    """One option of the suite, as both entry points expose it: a value, a flag, or a repeatable value."""

    flag: str
    help: str
    type: Callable[[str], Any] = str
    default: Any = None
    metavar: str | None = None
    required: bool = False
    kind: Literal["value", "flag", "repeat"] = "value"
    short: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def env(self) -> str:
        return f"{ENV_PREFIX}{self.dest.upper()}"


OPTIONS = (
    Option("--base-url", "root URL of the implementation under test", metavar="URL", required=True),
    Option("--token", "bearer token of the tenant whose exceptions the checks use", metavar="TOKEN", required=True),
    Option("--other-tenant-token", "bearer token of a second tenant; enables the cross-tenant checks", metavar="TOKEN"),
    Option(
        "--exception-factory",
        "how to get exceptions in a wanted status: 'mock' (the mock's admin API at the base URL) or a shell "
        "command that gets the status as last argument and prints the new exception's id",
        metavar="COMMAND",
    ),
    Option(
        "--exception-reader",
        "how to see an exception's side effects: 'mock' (the mock's admin API) or a shell command that gets the "
        "exception's id as last argument and prints JSON with its status and appliedCallbacks",
        metavar="COMMAND",
    ),
    Option("--admin-token", "token of the mock's admin API (for the mock factory and reader)", metavar="TOKEN"),
    Option(
        "--spec",
        "judge against this OpenAPI spec instead of the kit's (e.g. what `callback-kit spec --profile matcher` prints)",
        type=Path,
        metavar="PATH",
    ),
    Option(
        "--include-checks",
        "run only these checks: names of checks or of groups (startup, schemathesis, idempotency, responses, "
        "side_effects, state_machine)",
        metavar="NAME[,NAME...]",
    ),
    Option("--exclude-checks", "leave these checks or groups out", metavar="NAME[,NAME...]"),
    Option(
        "--header",
        "a header sent on every request, Schemathesis' included (a gateway's, say), written 'NAME: VALUE'; "
        "repeatable; the variable holds one header a line",
        metavar="HEADER",
        kind="repeat",
        short="-H",
    ),
    Option(
        "--accept-divergences",
        "known divergences of Matcher 2.1 (numbers of section 6 of the reference) that do not fail the run",
        metavar="all|N[,N...]",
    ),
    Option("--require-all", "exit 1 when a check could not be made (a partial run)", kind="flag"),
    Option("--seed", "seed of every generated case", type=int, default=DEFAULT_SEED, metavar="N"),
    Option(
        "--max-examples",
        "generated cases per Schemathesis phase (a quarter as many state-machine walks)",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
    ),
    Option("--workers", "concurrent Schemathesis workers", type=int, default=1, metavar="N"),
    Option("--timeout", "seconds to wait for each answer", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS"),
    Option(
        "--ttl-pause",
        "seconds the completed-TTL check waits before it asks for a stored answer again (short by default, to "
        "keep the run fast; a longer pause proves more)",
        type=float,
        default=DEFAULT_TTL_PAUSE,
        metavar="SECONDS",
    ),
    Option("--junit", "write a JUnit XML report (one test case per check) to PATH", type=Path, metavar="PATH"),
    Option("--har", "write every HTTP exchange of the run as a HAR file to PATH", type=Path, metavar="PATH"),
)


def flag(name: str, surface: Surface = "cli") -> str:
    """How `surface` spells the option `name` (the command line's spelling, `--token`): every message naming an
    option asks this, so that the pytest plugin's say `--callback-kit-token`."""
    return name if surface == "cli" else PLUGIN_PREFIX + name.removeprefix("--")


def environment_default(option: Option, environ: Mapping[str, str] | None = None) -> Any:
    """The option's default: its `CALLBACK_KIT_<DEST>` variable when set (kept as text), else the built-in one."""
    raw = (os.environ if environ is None else environ).get(option.env)
    return raw if raw else option.default


@dataclass(frozen=True)
class Settings:
    """What a contract run needs; built by `from_options`, which checks every value."""

    base_url: str
    token: str = field(repr=False)
    other_tenant_token: str | None = field(default=None, repr=False)
    exception_factory: str | None = None
    exception_reader: str | None = None
    admin_token: str | None = field(default=None, repr=False)
    spec_path: Path = field(default_factory=default_spec_path)
    include_checks: tuple[str, ...] = ()
    exclude_checks: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    accept_divergences: frozenset[int] = frozenset()
    require_all: bool = False
    seed: int = DEFAULT_SEED
    max_examples: int = DEFAULT_MAX_EXAMPLES
    workers: int = 1
    timeout: float = DEFAULT_TIMEOUT
    ttl_pause: float = DEFAULT_TTL_PAUSE
    junit: Path | None = None
    har: Path | None = None
    surface: Surface = "cli"

    def flag(self, name: str) -> str:
        """The option `name` (`--token`) as this run's entry point spells it."""
        return flag(name, self.surface)

    @property
    def factory_kind(self) -> FactoryKind | None:
        if not self.exception_factory:
            return None
        return "mock" if self.exception_factory == "mock" else "command"

    @property
    def reader_kind(self) -> FactoryKind | None:
        if not self.exception_reader:
            return None
        return "mock" if self.exception_reader == "mock" else "command"

    @property
    def secrets(self) -> dict[str, str]:
        """Secret value -> the variable a reproduction should read it from (never print the value)."""
        named: dict[str | None, str | None] = {
            self.token: f"{ENV_PREFIX}TOKEN",
            self.other_tenant_token: f"{ENV_PREFIX}OTHER_TENANT_TOKEN",
            self.admin_token: f"{ENV_PREFIX}ADMIN_TOKEN",
        }
        # A gateway's header value may be a key: shown as a variable too, unless too short to be a secret (a
        # value such as "1" would otherwise be replaced everywhere in a reproduction).
        for number, (_, value) in enumerate(self.headers, 1):
            named.setdefault(value, f"{ENV_PREFIX}HEADER_{number}" if len(value) >= 8 else None)
        return {value: name for value, name in named.items() if value and name}

    @classmethod
    def from_options(cls, values: Mapping[str, Any], surface: Surface = "cli") -> Settings:
        """Settings from option values keyed by `Option.dest` (text from the environment is converted here); the
        messages spell the options as `surface` does."""

        def named(name: str) -> str:
            return flag(name, surface)

        given = {option.dest: _convert(option, values.get(option.dest), named) for option in OPTIONS}
        missing = [f"{named(o.flag)} (or {o.env})" for o in OPTIONS if o.required and not given[o.dest]]
        if missing:
            raise ConfigurationError(f"give {' and '.join(missing)}")
        base_url = str(given["base_url"]).strip().rstrip("/")
        if not _URL.fullmatch(base_url):
            raise ConfigurationError(
                f'{named("--base-url")} "{base_url}" must be an http(s) URL such as https://matcher.staging.example'
            )
        for option in ("exception_factory", "exception_reader"):
            if given[option] == "mock" and not given["admin_token"]:
                given_flag = named("--" + option.replace("_", "-"))
                raise ConfigurationError(f"{given_flag} mock needs {named('--admin-token')} (the mock's admin token)")
        if given["exception_reader"] and not given["exception_factory"]:
            raise ConfigurationError(
                f"{named('--exception-reader')} needs {named('--exception-factory')} (the exceptions it reads)"
            )
        if given["other_tenant_token"] and given["other_tenant_token"] == given["token"]:
            raise ConfigurationError(
                f"{named('--other-tenant-token')} must be the token of another tenant, not {named('--token')} again"
            )
        for name, low, high, above_low, unit in (
            ("seed", *SEEDS, False, ""),
            ("max_examples", 1, 100_000, False, ""),
            ("workers", 1, 64, False, ""),
            ("timeout", 0, MAX_TIMEOUT, True, " seconds"),  # as replay's --timeout
            ("ttl_pause", 0, 3600, False, " seconds"),
        ):
            problem = out_of_range(given[name], low, high, above_low=above_low, unit=unit)
            if problem:
                raise ConfigurationError(f"{named('--' + name.replace('_', '-'))} {problem}")
        spec = given["spec"] or default_spec_path()
        if not Path(spec).is_file():
            raise ConfigurationError(
                f"{named('--spec')} {spec}: no such file (give an OpenAPI document, e.g. openapi.yaml)"
            )
        try:
            read_spec(Path(spec))
        except SpecProblem as exc:  # the line `callback-kit lint` shows for it
            raise ConfigurationError(str(exc)) from None
        return cls(
            **{name: given[name] for name in ("token", "other_tenant_token", "admin_token", "seed", "max_examples")},
            base_url=base_url,
            exception_factory=given["exception_factory"] or None,
            exception_reader=given["exception_reader"] or None,
            spec_path=Path(spec),
            include_checks=_names(given["include_checks"]),
            exclude_checks=_names(given["exclude_checks"]),
            headers=_headers(given["header"], named),
            accept_divergences=parse_accepted(given["accept_divergences"] or "", named("--accept-divergences")),
            require_all=given["require_all"] in (True, "1", "true", "yes", "on"),
            workers=given["workers"],
            timeout=given["timeout"],
            ttl_pause=given["ttl_pause"],
            junit=given["junit"],
            har=given["har"],
            surface=surface,
        )


def _convert(option: Option, value: Any, named: Callable[[str], str]) -> Any:
    if value is None or value == "" or value == []:
        return option.default
    if isinstance(value, str) and option.type is not str:
        try:
            return option.type(value)
        except ValueError:
            raise ConfigurationError(
                f"{named(option.flag)} (or {option.env}) must be {option.metavar or 'a value'} of type "
                f"{option.type.__name__}, got {value!r}"
            ) from None
    return value


def _names(raw: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (raw or "").split(",") if name.strip())


def _headers(raw: str | list[str] | None, named: Callable[[str], str]) -> tuple[tuple[str, str], ...]:
    """'Name: value' items (a list from the command line, lines from the environment) as (name, value)."""
    lines = raw.splitlines() if isinstance(raw, str) else list(raw or [])
    headers = []
    for line in filter(str.strip, lines):
        match = _HEADER.fullmatch(line.strip())
        if match is None:
            raise ConfigurationError(
                f"{named('--header')} {line!r} must be 'Name: value', e.g. 'X-Gateway-Key: abc123'"
            )
        if match.group(1).lower() in _RESERVED:
            raise ConfigurationError(
                f"{named('--header')} cannot set {match.group(1)}: the suite sets it (use {named('--token')})"
            )
        headers.append((match.group(1), match.group(2)))
    return tuple(headers)
