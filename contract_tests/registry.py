"""The registry of named checks: what each needs, the function that makes it, and the selection of a run.

A check is a function taking a `Context`, registered with `@check(group, needs=...)`; its name is the
function's. A need the run cannot meet makes the check skipped with the need's reason, so that a check added
later only declares what it needs (`NEEDS` says how to give it). A check that reports several rows of its own
(the Schemathesis run, one row per Schemathesis check) names them with `rows`.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callback_kit.contract_tests.config import Surface, flag
from callback_kit.contract_tests.failures import CheckFailed, ConfigurationError, SkipCheck

if TYPE_CHECKING:
    from callback_kit.contract import IdempotencyContract
    from callback_kit.contract.checks import Violation
    from callback_kit.contract_tests.client import CallbackClient
    from callback_kit.contract_tests.config import Settings
    from callback_kit.contract_tests.environment import Environment
    from callback_kit.contract_tests.factory import ExceptionFactory
    from callback_kit.contract_tests.probe import ProbeResult
    from callback_kit.contract_tests.reader import ExceptionReader
    from callback_kit.contract_tests.results import CheckResult

# Each need: the option that meets it, and what it gives (`needs` words the reason a check was not made).
NEEDS = {
    "factory": ("--exception-factory", "(exceptions in a known status)"),
    "other_tenant": ("--other-tenant-token", "(a second tenant)"),
    "second_token": ("--other-tenant-token", "(a second tenant)"),
    "reader": ("--exception-reader", "(an exception's side effects)"),
    "admin_clock": ("--exception-factory", "mock (the mock's admin clock)"),
}
# The modules whose checks make the suite, in the order they run.
MODULES = ("startup", "conformance", "idempotency", "clauses", "responses", "side_effects", "state_machine")
GROUPS = ("startup", "schemathesis", "idempotency", "responses", "side_effects", "state_machine")


@dataclass(frozen=True)
class Check:
    """A named check of the suite."""

    group: str
    name: str
    run: Callable[[Context], None] = field(repr=False)
    needs: tuple[str, ...] = ()
    doc: str = ""
    rows: Callable[[], Sequence[str]] | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.group}/{self.name}"


_REGISTRY: list[Check] = []


def check(
    group: str, *, needs: Sequence[str] = (), rows: Callable[[], Sequence[str]] | None = None
) -> Callable[[Callable[[Context], None]], Callable[[Context], None]]:
    """Register the decorated function as the check `group/<function name>`."""
    unknown = [need for need in needs if need not in NEEDS]
    if unknown:
        raise ValueError(f"unknown needs {unknown}: declare them in NEEDS")

    def register(function: Callable[[Context], None]) -> Callable[[Context], None]:
        doc = (function.__doc__ or "").strip().split("\n")[0]
        _REGISTRY.append(Check(group, function.__name__, function, tuple(needs), doc, rows))
        return function

    return register


def all_checks() -> list[Check]:
    """Every registered check, in run order (importing the check modules registers them)."""
    for module in MODULES:
        importlib.import_module(f"callback_kit.contract_tests.{module}")
    order = {group: index for index, group in enumerate(GROUPS)}
    return sorted(_REGISTRY, key=lambda c: order.get(c.group, len(order)))


@dataclass(frozen=True)
class Selection:
    """The checks a run makes, and which rows of a check that reports several (None: all of them)."""

    checks: tuple[Check, ...]
    rows: dict[str, frozenset[str] | None]

    def wants_row(self, check: Check, row: str) -> bool:
        chosen = self.rows.get(check.label)
        return chosen is None or row in chosen


def needs(need: str, settings: Settings) -> str:
    """Why a check that needs `need` was not made, naming the option as the run's entry point spells it."""
    option, gives = NEEDS[need]
    return f"needs {settings.flag(option)} {gives}"


def select(
    checks: Sequence[Check], include: Sequence[str], exclude: Sequence[str], surface: Surface = "cli"
) -> Selection:
    """The checks named by `--include-checks` (all when empty) less those named by `--exclude-checks`.

    A name is a group (`idempotency`), a check (`replay_returns_stored_response`, or with its group), or a
    row of a check that reports several (`not_a_server_error`). An unknown name is a configuration error.
    """
    names = _names(checks)
    for option, given in ((flag("--include-checks", surface), include), (flag("--exclude-checks", surface), exclude)):
        for name in given:
            if name not in names:
                close = difflib.get_close_matches(name, sorted(names), n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ConfigurationError(f"{option}: no check or group is called {name!r}{hint}")
    chosen: list[Check] = []
    rows: dict[str, frozenset[str] | None] = {}
    for item in checks:
        if {item.group, item.name, item.label} & set(exclude):
            continue
        own = frozenset(item.rows()) if item.rows is not None else frozenset()
        whole = not include or bool({item.group, item.name, item.label} & set(include))
        wanted = (own if whole else own & set(include)) - set(exclude)
        if (own or not whole) and not wanted:
            continue  # none of its rows is wanted
        chosen.append(item)
        rows[item.label] = None if whole and wanted == own else wanted
    if not chosen:  # a run that judges nothing is no verdict on the contract
        given = [
            f"{flag(option, surface)} {','.join(names)}"
            for option, names in (("--include-checks", include), ("--exclude-checks", exclude))
            if names
        ]
        groups = ", ".join(dict.fromkeys(item.group for item in checks))
        raise ConfigurationError(f"{' with '.join(given)} leaves no check to run (the groups: {groups})")
    return Selection(tuple(chosen), rows)


def _names(checks: Sequence[Check]) -> set[str]:
    names = set()
    for item in checks:
        names |= {item.group, item.name, item.label, *(item.rows() if item.rows is not None else ())}
    return names


@dataclass
class Context:
    """What a check works with; `require` fails the check with a violation, `skip` gives up with a reason."""

    environment: Environment
    probe: ProbeResult
    check: Check
    progress: Callable[[str], None]
    wants_row: Callable[[str], bool] = lambda _: True
    notes: list[str] = field(default_factory=list)
    rows: list[CheckResult] = field(default_factory=list)

    @property
    def client(self) -> CallbackClient:
        return self.environment.client.labelled(self.check.label)

    @property
    def other(self) -> CallbackClient:
        if self.environment.other is None:
            raise SkipCheck(self.needs("other_tenant"))
        return self.environment.other.labelled(self.check.label)

    @property
    def factory(self) -> ExceptionFactory:
        if self.environment.factory is None:
            raise SkipCheck(self.needs("factory"))
        return self.environment.factory

    @property
    def reader(self) -> ExceptionReader:
        if self.environment.reader is None:
            raise SkipCheck(self.needs("reader"))
        return self.environment.reader

    @property
    def contract(self) -> IdempotencyContract:
        return self.environment.contract

    def needs(self, need: str) -> str:
        """Why this check cannot be made without `need` (see `needs`)."""
        return needs(need, self.environment.settings)

    def flag(self, name: str) -> str:
        """The option `name` (`--token`) as the run's entry point spells it."""
        return self.environment.settings.flag(name)

    def require(self, violation: Violation | None) -> None:
        """Fail the check when `violation` is one."""
        if violation is not None:
            raise CheckFailed(violation)

    def skip(self, reason: str) -> None:
        raise SkipCheck(reason)

    def note(self, text: str) -> None:
        """A note on the check's row (what could only be checked in part, for instance)."""
        self.notes.append(text)
