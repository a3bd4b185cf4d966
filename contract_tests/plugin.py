"""The suite as a pytest plugin, loaded only on request: each registered check becomes a pytest item.

    pytest -p callback_kit.contract_tests.plugin --callback-kit-base-url URL --callback-kit-token TOKEN [tests/]

Installing the kit registers nothing: a pytest run that does not load this module sees no option, no item,
no output of the kit. Loaded, it adds the `--callback-kit-*` options (read from the same `CALLBACK_KIT_*`
variables as `callback-kit contract`), the suite's checks as items beside the project's own tests, and at
the end the suite's report, its verdict and its reports (`--callback-kit-junit`, `--callback-kit-har`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from callback_kit.contract_tests.config import OPTIONS, Option, Settings, environment_default, flag
from callback_kit.contract_tests.environment import Environment, open_environment
from callback_kit.contract_tests.failures import ConfigurationError
from callback_kit.contract_tests.probe import ProbeResult, probe
from callback_kit.contract_tests.registry import Check, Selection, all_checks, select
from callback_kit.contract_tests.render import report_lines
from callback_kit.contract_tests.reports import write_reports
from callback_kit.contract_tests.results import Results, Verdict, verdict


@dataclass
class _Suite:
    """The run's state, opened at the first check (the probe runs once, before it)."""

    settings: Settings
    selection: Selection
    results: Results = field(default_factory=Results)
    written: list[str] = field(default_factory=list)
    environment: Environment | None = None
    probe: ProbeResult | None = None

    def open(self) -> tuple[Environment, ProbeResult]:
        if self.environment is None or self.probe is None:
            try:
                self.environment = open_environment(self.settings)
                self.probe = probe(self.environment)
            except ConfigurationError as exc:
                pytest.exit(f"callback-kit contract: configuration error: {exc}", returncode=2)
        return self.environment, self.probe


SUITE = pytest.StashKey[_Suite]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("callback-kit", "the callback contract suite (-p callback_kit.contract_tests.plugin)")
    for option in OPTIONS:
        name, dest, help_text = flag(option.flag, "plugin"), _dest(option), f"{option.help} [env {option.env}]"
        if option.kind == "flag":
            group.addoption(name, dest=dest, action="store_true", default=environment_default(option), help=help_text)
        elif option.kind == "repeat":
            group.addoption(name, dest=dest, action="append", default=None, metavar=option.metavar, help=help_text)
        else:
            group.addoption(
                name, dest=dest, default=environment_default(option), metavar=option.metavar, help=help_text
            )


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect: the suite's items are selected like any other
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    values: dict[str, Any] = {}
    for option in OPTIONS:
        given = config.getoption(_dest(option))
        values[option.dest] = given if given not in (None, []) else environment_default(option)
    try:
        settings = Settings.from_options(values, surface="plugin")
        selection = select(all_checks(), settings.include_checks, settings.exclude_checks, surface="plugin")
    except ConfigurationError as exc:
        pytest.exit(f"callback-kit contract: configuration error: {exc}", returncode=2)
    config.stash[SUITE] = _Suite(settings, selection)
    parent = _SuiteCollector.from_parent(session, name="callback-kit-contract")
    items.extend(CheckItem.from_parent(parent, name=check.label, check=check) for check in selection.checks)


class _SuiteCollector(pytest.Collector):
    """The parent of the suite's items (they are made from the registry, not collected from files)."""

    def collect(self) -> list[pytest.Item]:
        return []


class CheckItem(pytest.Item):
    """One registered check: fails with its findings, is skipped with its reason, passes on accepted divergences."""

    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        from callback_kit.contract_tests.runner import run_check

        suite = self.config.stash[SUITE]
        environment, found = suite.open()
        rows, notes = run_check(self.check, environment, found, suite.selection, lambda _: None)
        for row in rows:
            suite.results.add(row)
        suite.results.notes.extend(notes)
        broken = [row for row in rows if row.status in ("failed", "error")]
        if broken:
            raise _Broken(
                "\n".join(report_lines(_only(broken), suite.settings.accept_divergences, suite.settings.secrets))
            )
        if rows and all(row.status == "skipped" for row in rows):
            pytest.skip(rows[0].note)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, _Broken):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"callback-kit contract: {self.check.label}"


class _Broken(AssertionError):
    """A check found the contract broken; the message is the suite's own report of it."""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    suite = session.config.stash.get(SUITE, None)
    if suite is None or suite.environment is None:
        return
    result = _verdict(suite)
    exchanges = suite.environment.recorder.exchanges()
    suite.written = write_reports(suite.settings, suite.results, result, exchanges, suite.settings.secrets)
    if result.exit_code and session.exitstatus == 0:
        session.exitstatus = result.exit_code  # a partial run with --callback-kit-require-all
    suite.environment.close()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    suite = config.stash.get(SUITE, None)
    if suite is None or suite.environment is None:
        return
    settings = suite.settings
    terminalreporter.section("callback contract", sep="=")
    for line in [*report_lines(suite.results, settings.accept_divergences, settings.secrets), *suite.written]:
        terminalreporter.write_line(line)
    result = _verdict(suite)
    terminalreporter.write_line(result.line, bold=True)


def _verdict(suite: _Suite) -> Verdict:
    settings = suite.settings
    return verdict(
        suite.results, seed=settings.seed, require_all=settings.require_all, seed_option=settings.flag("--seed")
    )


def _only(rows: list[Any]) -> Results:
    results = Results()
    for row in rows:
        results.add(row)
    return results


def _dest(option: Option) -> str:
    return f"callback_kit_{option.dest}"
