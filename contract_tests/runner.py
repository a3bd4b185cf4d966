"""The suite's own runner: makes the selected checks one after the other, one result per check (or per row).

A check passes, fails with a finding (the violation that stopped it; a Schemathesis row keeps every failing
case), is skipped with the reason it could not be made, or ends in error (the server stopped answering, the
factory failed). Every finding is then read for known divergences and the rule it breaks, and the row is
settled (`known` when the run accepts every divergence behind it): classification happens here, after the
check, never inside it, so the progress line, the table and the verdict agree. `Interrupted` goes through:
the caller decides what it means.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx

from callback_kit.contract.spec_view import broken_rule, declares
from callback_kit.contract_tests.divergences import classify, explain
from callback_kit.contract_tests.environment import Environment
from callback_kit.contract_tests.failures import CheckFailed, FactoryError, Interrupted, ReaderError, SkipCheck
from callback_kit.contract_tests.probe import ProbeResult
from callback_kit.contract_tests.registry import Check, Context, Selection, needs
from callback_kit.contract_tests.results import CheckResult, Finding, Results, Status, settle

Say = Callable[[str], None]
# Schemathesis checks whose failures are caused by what the request breaks (a field, a header, a rule).
REQUEST_CHECKS = frozenset({"negative_data_rejection", "not_a_server_error", "positive_data_acceptance"})


@dataclass
class RunState:
    """Where a run is: the check being made and those still to come (read by the thread that handles signals)."""

    current: Check | None = None
    remaining: list[Check] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def run_checks(
    environment: Environment, probe: ProbeResult, selection: Selection, results: Results, say: Say, state: RunState
) -> None:
    """Make every selected check in order, adding its rows to `results`; stops at `Interrupted`."""
    with state.lock:
        state.remaining = list(selection.checks)
    while True:
        with state.lock:
            if not state.remaining:
                state.current = None
                return
            state.current = state.remaining.pop(0)
            current = state.current
        rows, notes = run_check(current, environment, probe, selection, say)
        for row in rows:
            results.add(row)
            say(progress_line(row))
        results.notes.extend(notes)


def run_check(
    check: Check, environment: Environment, probe: ProbeResult, selection: Selection, say: Say
) -> tuple[list[CheckResult], list[str]]:
    """The rows of one check (one, unless it reports several), their findings attributed, and the notes of a
    check that reports several rows (a one-row check's notes are on its row)."""
    missing = [needs(need, environment.settings) for need in check.needs if not _meets(need, environment)]
    unusable = [probe.unusable[need] for need in check.needs if need in probe.unusable]
    if missing or unusable:
        return [CheckResult(check.group, check.name, "skipped", note=(missing or unusable)[0])], []
    ctx = Context(environment, probe, check, say, lambda row: selection.wants_row(check, row))
    started = time.monotonic()
    status: Status = "passed"
    findings: list[Finding] = []
    error = ""
    try:
        check.run(ctx)
    except Exception as raised:  # every way a check ends is a row of the report
        found = _unwrap(raised)
        if isinstance(found, CheckFailed):
            status, findings = "failed", [Finding(check.label, found.violation)]
        elif isinstance(found, SkipCheck):
            return [CheckResult(check.group, check.name, "skipped", note=str(found))], []
        else:
            status, error = "error", _describe_error(found)
    except BaseExceptionGroup as group:  # Hypothesis may wrap an interruption
        if any(isinstance(e, Interrupted) for e in group.exceptions):
            raise Interrupted from None
        raise
    seconds = time.monotonic() - started
    # A startup check judges the probe's answers, made before it under the probe's label.
    cases = environment.recorder.count(check.label) + probe.judged.get(check.name, 0)
    own = CheckResult(check.group, check.name, status, cases, "; ".join(ctx.notes), seconds, findings, error)
    rows = ctx.rows if ctx.rows and status == "passed" else [own]
    accepted = environment.settings.accept_divergences
    attributed = [
        settle(replace(row, findings=[attribute(f, row.group, environment, probe) for f in row.findings]), accepted)
        for row in rows
    ]
    return attributed, ctx.notes if rows is ctx.rows else []


def attribute(finding: Finding, group: str, environment: Environment, probe: ProbeResult) -> Finding:
    """The finding with the known divergences that explain it and the rule its request breaks."""
    violation = finding.violation
    exchange = violation.exchange
    # An answer whose status the spec does not declare is the cause, whatever the request broke: a server that
    # answers 501 to every POST is one failure of each check, not one per field the generated requests break.
    undeclared = "" if exchange is None or declares(environment.spec, exchange.status) else "status undeclared"
    if group == "schemathesis":
        if exchange is None:
            return finding
        divergences = explain(violation.check, exchange, environment.spec, environment.contract, probe.facts)
        # The part of the request is the cause where the check judges the request; elsewhere, what it says.
        rule = broken_rule(exchange, environment.spec) if violation.check in REQUEST_CHECKS else ""
        rule = undeclared or rule or " ".join((violation.note or "").split())[:160]
        return replace(finding, divergences=divergences, rule=rule)
    divergences = classify(violation, environment.contract, probe.facts)
    return replace(finding, divergences=divergences, rule=undeclared)


def progress_line(row: CheckResult) -> str:
    """One line per finished check (or row), its verdict as the report's table has it."""
    detail = f"{row.cases} request(s)" if row.cases else ""
    if row.status in ("failed", "known"):
        detail += f", {len(row.findings)} failing case(s)"
    elif row.status in ("skipped", "error"):
        detail = row.note or row.error.splitlines()[0]
    return f"  {row.verdict:<5} {row.label}" + (f"  ({detail.strip(', ')})" if detail else "")


def _meets(need: str, environment: Environment) -> bool:
    if need == "factory":
        return environment.factory is not None
    if need == "reader":
        return environment.reader is not None
    if need == "admin_clock":
        return environment.settings.factory_kind == "mock"
    return environment.other is not None  # other_tenant, second_token


def _unwrap(raised: BaseException) -> BaseException:
    """The suite's own exception inside an exception group (Hypothesis may wrap one)."""
    if isinstance(raised, BaseExceptionGroup):
        for inner in raised.exceptions:
            found = _unwrap(inner)
            if isinstance(found, CheckFailed | SkipCheck | Interrupted):
                return found
    if isinstance(raised, Interrupted):
        raise raised
    return raised


def _describe_error(error: BaseException) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"the server did not answer in time: {error!r}"
    if isinstance(error, httpx.TransportError):
        return f"the server stopped answering: {error!r}"
    if isinstance(error, FactoryError):
        return f"the exception factory failed: {error}"
    if isinstance(error, ReaderError):
        return f"the exception reader failed: {error}"
    return f"{type(error).__name__}: {error}"
