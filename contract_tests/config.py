"""The suite's options, declared once, and the frozen `Settings` both entry points build from them.

`callback-kit contract` turns them into argparse options (its parser maps each to `CALLBACK_KIT_<DEST>`);
the pytest plugin turns them into pytest options whose defaults come from the same variables, read in
`environment_default`. Everything below the edge receives a `Settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from callback_kit.contract import default_spec_path
from callback_kit.contract_tests.failures import ConfigurationError

FactoryKind = Literal["mock", "command"]
DEFAULT_SEED = 42
DEFAULT_MAX_EXAMPLES = 100
ENV_PREFIX = "CALLBACK_KIT_"
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


@dataclass(frozen=True)
class Option:
    """One option of the suite, as both entry points expose it."""

    flag: str
    help: str
    type: Callable[[str], Any] = str
    default: Any = None
    metavar: str | None = None
    required: bool = False

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
        "how to get exceptions in a wanted state: 'mock' (the mock's admin API at the base URL) or a shell "
        "command that gets the status as last argument and prints the new exception's id",
        metavar="mock|COMMAND",
    ),
    Option("--admin-token", "token of the mock's admin API (for --exception-factory mock)", metavar="TOKEN"),
    Option("--seed", "seed of every generated case", type=int, default=DEFAULT_SEED, metavar="N"),
    Option(
        "--max-examples",
        "generated cases per Schemathesis phase (a quarter as many state-machine walks)",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
    ),
    Option("--workers", "concurrent Schemathesis workers", type=int, default=1, metavar="N"),
    Option("--junit", "write a JUnit XML report (one test case per check) to PATH", type=Path, metavar="PATH"),
    Option("--har", "write every HTTP exchange of the run as a HAR file to PATH", type=Path, metavar="PATH"),
)


def environment_default(option: Option, environ: Mapping[str, str] | None = None) -> Any:
    """The option's default: its `CALLBACK_KIT_<DEST>` variable when set (kept as text), else the built-in one."""
    raw = (os.environ if environ is None else environ).get(option.env)
    return option.default if raw is None else raw


@dataclass(frozen=True)
class Settings:
    """What a contract run needs; built by `from_options`, which checks every value."""

    base_url: str
    token: str = field(repr=False)
    other_tenant_token: str | None = field(default=None, repr=False)
    exception_factory: str | None = None
    admin_token: str | None = field(default=None, repr=False)
    seed: int = DEFAULT_SEED
    max_examples: int = DEFAULT_MAX_EXAMPLES
    workers: int = 1
    junit: Path | None = None
    har: Path | None = None
    spec_path: Path = field(default_factory=default_spec_path)
    timeout: float = 10.0

    @property
    def factory_kind(self) -> FactoryKind | None:
        if not self.exception_factory:
            return None
        return "mock" if self.exception_factory == "mock" else "command"

    @property
    def secrets(self) -> dict[str, str]:
        """Secret value -> the variable a reproduction should read it from (never print the value)."""
        named = {
            self.token: f"{ENV_PREFIX}TOKEN",
            self.other_tenant_token: f"{ENV_PREFIX}OTHER_TENANT_TOKEN",
            self.admin_token: f"{ENV_PREFIX}ADMIN_TOKEN",
        }
        return {value: name for value, name in named.items() if value}

    @classmethod
    def from_options(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from option values keyed by `Option.dest` (text from the environment is converted here)."""
        given = {option.dest: _convert(option, values.get(option.dest)) for option in OPTIONS}
        missing = [f"{o.flag} (or {o.env})" for o in OPTIONS if o.required and not given[o.dest]]
        if missing:
            raise ConfigurationError(f"give {' and '.join(missing)}")
        base_url = str(given["base_url"]).strip().rstrip("/")
        if not _URL.fullmatch(base_url):
            raise ConfigurationError(
                f'--base-url "{base_url}" must be an http(s) URL such as https://matcher.staging.example'
            )
        if given["exception_factory"] == "mock" and not given["admin_token"]:
            raise ConfigurationError("--exception-factory mock needs --admin-token (the mock's admin token)")
        if given["other_tenant_token"] and given["other_tenant_token"] == given["token"]:
            raise ConfigurationError("--other-tenant-token must be the token of another tenant, not --token again")
        for name, low, high in (("seed", 0, 2**64 - 1), ("max_examples", 1, 100_000), ("workers", 1, 64)):
            if not low <= given[name] <= high:
                raise ConfigurationError(
                    f"--{name.replace('_', '-')} must be between {low} and {high}, got {given[name]}"
                )
        return cls(**{**given, "base_url": base_url, "exception_factory": given["exception_factory"] or None})


def _convert(option: Option, value: Any) -> Any:
    if value is None or value == "":
        return option.default
    if isinstance(value, str) and option.type is not str:
        try:
            return option.type(value)
        except ValueError:
            raise ConfigurationError(
                f"{option.flag} (or {option.env}) must be {option.metavar or 'a value'} of type "
                f"{option.type.__name__}, got {value!r}"
            ) from None
    return value
