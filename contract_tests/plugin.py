"""The suite's pytest plugin: options, fixtures, one result row per check, the summary and the reports.

It is inert until a test asks for `contract_env`: registered globally, it neither probes servers nor adds
output to other test suites. Tests of the suite carry `@pytest.mark.contract(group)`; each test is one check
named after its function (`test_replay_returns_stored_response` -> `replay_returns_stored_response`), unless
it records its own rows (`reports_itself=True`, as the Schemathesis run does for each of its checks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx
import pytest

from callback_kit.contract import IdempotencyContract
from callback_kit.contract_tests.client import CallbackClient
from callback_kit.contract_tests.config import OPTIONS, Option, Settings, environment_default
from callback_kit.contract_tests.environment import Environment, open_environment
from callback_kit.contract_tests.factory import ExceptionFactory
from callback_kit.contract_tests.failures import ConfigurationError, ContractViolation
from callback_kit.contract_tests.report import (
    CheckResult,
    Finding,
    Results,
    Verdict,
    render_findings,
    render_table,
    write_har,
    write_junit,
)

RESULTS = pytest.StashKey[Results]()
ENVIRONMENT = pytest.StashKey[Environment]()
PRESET = pytest.StashKey[Environment]()
NOTES = pytest.StashKey[list[str]]()
NEEDS_FACTORY = "needs --exception-factory (exceptions in a known status)"
NEEDS_OTHER_TENANT = "needs --other-tenant-token (a second tenant)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("callback-kit", "contract tests of the exception-callback endpoint")
    for option in OPTIONS:
        group.addoption(
            option.flag,
            dest=_dest(option),
            default=environment_default(option),
            metavar=option.metavar,
            help=f"{option.help} [env {option.env}]",
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract(group, reports_itself=False): a check of the callback contract suite")
    config.stash[RESULTS] = Results()


def preset(environment: Environment) -> object:
    """A plugin object that hands an already probed environment to the run (used by `callback-kit contract`)."""

    class Preset:
        @staticmethod
        def pytest_configure(config: pytest.Config) -> None:
            config.stash[PRESET] = environment

    return Preset()


@pytest.fixture(scope="session")
def contract_env(request: pytest.FixtureRequest) -> Iterator[Environment]:
    """The probed environment of the run; a configuration problem ends the session with exit code 2."""
    config = request.config
    environment = config.stash.get(PRESET, None)
    if environment is not None:
        config.stash[ENVIRONMENT] = environment
        yield environment
        return
    try:
        settings = Settings.from_options({option.dest: config.getoption(_dest(option)) for option in OPTIONS})
        environment = open_environment(settings)
    except ConfigurationError as exc:
        pytest.exit(f"callback-kit contract: {exc}", returncode=2)
    config.stash[ENVIRONMENT] = environment
    yield environment
    environment.close()


@pytest.fixture(scope="session")
def contract_results(request: pytest.FixtureRequest) -> Results:
    return request.config.stash[RESULTS]


@pytest.fixture
def idempotency(contract_env: Environment) -> IdempotencyContract:
    """The spec's `x-idempotency` block."""
    return contract_env.contract


@pytest.fixture
def callback_client(contract_env: Environment, request: pytest.FixtureRequest) -> CallbackClient:
    """The first tenant's client, recording under the current check's name."""
    return contract_env.client.labelled(_label(request.node))


@pytest.fixture
def other_tenant_client(contract_env: Environment, request: pytest.FixtureRequest) -> CallbackClient:
    if contract_env.other is None:
        pytest.skip(NEEDS_OTHER_TENANT)
    return contract_env.other.labelled(_label(request.node))


@pytest.fixture
def exception_factory(contract_env: Environment) -> ExceptionFactory:
    if contract_env.factory is None:
        pytest.skip(NEEDS_FACTORY)
    return contract_env.factory


@pytest.fixture
def contract_note(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Add a note to the current check's row (for example what could only be checked in part)."""
    notes: list[str] = request.node.stash.setdefault(NOTES, [])

    def add(note: str) -> None:
        notes.append(note)

    return add


@pytest.fixture
def contract_progress(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Write a progress line to the terminal, also while output is captured."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def say(line: str) -> None:
        if reporter is None:
            return
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.write_line(f"  {line}")

    return say


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    marker = item.get_closest_marker("contract")
    if marker is not None and (report.when == "call" or (report.when == "setup" and not report.passed)):
        row = _row(item, call, report, marker.args[0], marker.kwargs.get("reports_itself", False))
        if row is not None:
            item.config.stash[RESULTS].add(row)
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    results = session.config.stash.get(RESULTS, None)
    environment = session.config.stash.get(ENVIRONMENT, None)
    if results is None or environment is None:
        return
    settings = environment.settings
    if settings.junit is not None:
        properties = {
            "seed": str(settings.seed),
            "base_url": settings.base_url,
            "max_examples": str(settings.max_examples),
        }
        write_junit(results, settings.junit, properties)
    if settings.har is not None:
        write_har(environment.recorder.exchanges(), settings.har, settings.secrets, _version())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS, None)
    environment = config.stash.get(ENVIRONMENT, None)
    if not results or not results.rows or environment is None:
        return
    write = terminalreporter.write_line
    if config.option.tbstyle == "no" and results.exit_code() != 0:
        terminalreporter.section("callback contract: failures", sep="=")
        for line in render_findings(results).splitlines():
            write(line)
    terminalreporter.section("callback contract", sep="=")
    for line in render_table(results).splitlines():
        write(line)
    for line in results.notes:
        write(line)
    skipped = sorted({r.note for r in results.rows if r.verdict == "skipped"})
    for reason in skipped:
        count = sum(r.verdict == "skipped" and r.note == reason for r in results.rows)
        write(f"{count} check(s) skipped: {reason}")
    settings = environment.settings
    for kind, path in (("JUnit", settings.junit), ("HAR", settings.har)):
        if path is not None:
            write(f"{kind} report: {path}")
    failed = [r.label for r in results.rows if r.verdict == "failed"]
    verdict = {
        0: "the implementation keeps the contract",
        1: f"the contract is broken: {len(failed)} check(s) failed ({', '.join(failed)})",
        2: "the run could not complete (see the ERROR rows)",
    }[results.exit_code()]
    write(f"verdict: {verdict}; seed {settings.seed} (rerun with --seed {settings.seed})", bold=True)


def _row(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, group: str, own: bool
) -> CheckResult | None:
    """The check's row, or None when the test recorded its own rows (`reports_itself`)."""
    name = _check_name(item)
    environment = item.config.stash.get(ENVIRONMENT, None)
    cases = environment.recorder.count(f"{group}/{name}") if environment is not None else 0
    added: list[str] = item.stash.get(NOTES, [])
    notes = "; ".join(added)

    def row(verdict: Verdict, note: str = notes, findings: list[Finding] | None = None) -> CheckResult:
        return CheckResult(group, name, verdict, cases, note, report.duration, findings or [])

    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return row("skipped", reason.removeprefix("Skipped: "))
    if report.passed:
        return None if own else row("passed")
    error = call.excinfo.value if call.excinfo is not None else None
    violation = _violation(error)
    if violation is not None:
        divergence = str(violation.divergence) if violation.divergence else None
        return None if own else row("failed", findings=[Finding(violation.title, violation.render(), divergence)])
    text = str(call.excinfo.getrepr(style="short")) if call.excinfo is not None else str(report.longrepr)
    if isinstance(error, httpx.TransportError):
        text = f"the server stopped answering: {error!r}"
    verdict: Verdict = "failed" if isinstance(error, AssertionError) else "error"
    return row(verdict, findings=[Finding(type(error).__name__, text)])


def _violation(error: BaseException | None) -> ContractViolation | None:
    """The contract violation behind an error (Hypothesis may wrap it in an exception group)."""
    if isinstance(error, ContractViolation):
        return error
    if isinstance(error, BaseExceptionGroup):
        return next((v for e in error.exceptions if (v := _violation(e)) is not None), None)
    return None


def _check_name(item: pytest.Item) -> str:
    return getattr(item, "originalname", item.name).removeprefix("test_")


def _label(item: pytest.Item) -> str:
    marker = item.get_closest_marker("contract")
    group = marker.args[0] if marker is not None else "contract"
    return f"{group}/{_check_name(item)}"


def _dest(option: Option) -> str:
    return f"callback_kit_{option.dest}"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("callback-contract-kit")
    except PackageNotFoundError:
        return "unknown"
