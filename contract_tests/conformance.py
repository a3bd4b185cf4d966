"""Schemathesis over the spec: every built-in check and phase, run by its engine, judged check by check.

Three adjustments make generated cases meaningful against a stateful, idempotent endpoint:
* real exception ids (from the factory, else random UUIDs) as the path example and a path dictionary, so
  valid cases reach 200 and not only 404;
* a fresh idempotency key for every generated request whose key headers are valid (both headers get the
  same key, as the spec requires), so that unrelated cases never replay each other's responses;
* a run where every request sent with the token got 401/403 fails (`authentication_accepted`), as
  Schemathesis' `[warnings] fail-on` would.
The key hook is registered globally only while the engine runs, and only touches this run's cases.
"""

from __future__ import annotations

import contextlib
import copy
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import schemathesis
from schemathesis import hooks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.recorder import Interaction, ScenarioRecorder

from callback_kit.contract import callback_operation
from callback_kit.contract_tests.client import Exchange, new_key
from callback_kit.contract_tests.divergences import Divergence, explain
from callback_kit.contract_tests.environment import Environment
from callback_kit.contract_tests.failures import ContractViolation
from callback_kit.contract_tests.model import Status
from callback_kit.contract_tests.report import SEPARATOR, CheckResult, Finding, Verdict

GROUP = "schemathesis"
POOL: tuple[Status, ...] = ("OPEN", "OPEN", "OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED")
FINDINGS_PER_CHECK = 3
EXPECTATIONS = {
    "not_a_server_error": "no 5xx answer",
    "status_code_conformance": "a status code the spec documents for the operation",
    "content_type_conformance": "the content type the spec documents for the status",
    "response_headers_conformance": "the response headers the spec documents, with valid values",
    "response_schema_conformance": "a body valid against the schema documented for the status",
    "negative_data_rejection": "a 4xx answer to a request that breaks the spec",
    "positive_data_acceptance": "a 2xx answer (or 401/403/404/409/429) to a request the spec allows",
    "missing_required_header": "a 4xx answer when a required header is missing",
    "unsupported_method": "405 with an Allow header for a method the spec does not document",
    "ignored_auth": "401 for a request without valid credentials",
}
Progress = Callable[[str], None]


def run_conformance(environment: Environment, progress: Progress) -> tuple[list[CheckResult], list[str]]:
    """Run every phase; one `CheckResult` per Schemathesis check, plus the phase summary lines."""
    ids = _exception_ids(environment)
    schema = schemathesis.openapi.from_dict(
        _spec_with_example(environment.spec, ids[0]), config=_config(environment, ids)
    )
    tally = _Tally(environment)
    notes: list[str] = []
    started: dict[str, float] = {}
    with _fresh_keys(schema, environment):
        for event in from_schema(schema).execute():
            if isinstance(event, events.PhaseStarted):
                started[event.phase.name.value] = time.monotonic()
            elif isinstance(event, events.ScenarioFinished):
                tally.scenario(event.phase.value, event.recorder)
            elif isinstance(event, events.PhaseFinished):
                notes.extend(_phase_line(event, tally, started, progress))
            elif isinstance(event, events.NonFatalError | events.FatalError):
                tally.errors.append(_engine_error(event))
    statuses = ", ".join(f"{status}×{count}" for status, count in sorted(tally.statuses.items()))
    notes.append(f"{GROUP} answers: {statuses or 'none'}")
    if not any(200 <= status < 300 for status in tally.statuses):
        notes.append(f"{GROUP}: no generated request reached 2xx (no exception factory, or unknown ids)")
    return tally.rows(), notes


def _exception_ids(environment: Environment) -> list[str]:
    if environment.factory is None:
        return [str(uuid.uuid4()) for _ in POOL]
    return [environment.factory.create(status, environment.settings.token) for status in POOL]


def _spec_with_example(spec: dict[str, Any], exception_id: str) -> dict[str, Any]:
    """The spec with `exception_id` as the path's example (the examples and coverage phases send the example)."""
    copied = copy.deepcopy(spec)
    operation = callback_operation(copied)
    declared = [*operation.get("parameters", []), *copied.get("components", {}).get("parameters", {}).values()]
    for parameter in declared:
        if parameter.get("in") == "path" and parameter.get("name") == "exceptionId":
            parameter["example"] = exception_id
    return copied


def _config(environment: Environment, ids: list[str]) -> SchemathesisConfig:
    settings = environment.settings
    scheme = next(iter(environment.spec["components"]["securitySchemes"]))
    return SchemathesisConfig.from_dict(
        {
            "seed": settings.seed,
            "workers": settings.workers,
            "continue-on-failure": True,
            "base-url": settings.base_url,
            "request-timeout": settings.timeout,
            "cache": {"enabled": False},
            "output": {"sanitization": {"enabled": False}},
            "auth": {"openapi": {scheme: {"bearer": settings.token}}},
            "generation": {"mode": "all", "max-examples": settings.max_examples, "database": "none"},
            "checks": {"enabled": True},
            "phases": {
                "examples": {"enabled": True, "fill-missing": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True},
            },
            "dictionaries": {"exceptions": {"values": ids}},
            "parameters": {"path.exceptionId": {"dictionary": "exceptions", "probability": 0.8}},
        }
    )


@contextlib.contextmanager
def _fresh_keys(schema: Any, environment: Environment) -> Iterator[None]:
    contract = environment.contract

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        if case.operation.schema is not schema or not case.headers:
            return
        names = [name for name in contract.headers if name in case.headers]
        values = [case.headers[name] for name in names]
        if names and all(isinstance(v, str) and contract.key_pattern.fullmatch(v) for v in values):
            key = new_key()
            for name in names:
                case.headers[name] = key

    hooks.GLOBAL_HOOK_DISPATCHER.register_hook_with_name(before_call, "before_call")
    try:
        yield
    finally:
        hooks.unregister(before_call)


class _Tally:
    """Cases and findings per check, and every exchange into the run's recorder."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.cases: Counter[str] = Counter()
        # Per check: one finding per (known divergences, failure); the failing cases per known divergences.
        self.findings: dict[str, dict[tuple[tuple[Divergence, ...], str, str], Finding]] = {}
        self.explained: defaultdict[str, Counter[tuple[Divergence, ...]]] = defaultdict(Counter)
        self.seconds = time.monotonic()
        self.phase_cases: Counter[str] = Counter()
        self.authenticated: Counter[int] = Counter()
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []

    def scenario(self, phase: str, recorder: ScenarioRecorder) -> None:
        bearer = f"Bearer {self.environment.settings.token}"
        exchanges = {}
        for case_id, interaction in recorder.interactions.items():
            if interaction.response is None:
                continue
            exchange = _exchange(interaction, f"{GROUP}/{phase}", self.environment.settings.secrets)
            exchanges[case_id] = exchange
            self.environment.recorder.add(exchange)
            self.phase_cases[phase] += 1
            self.statuses[exchange.status] += 1
            if exchange.request_header("authorization") == bearer:
                self.authenticated[exchange.status] += 1
        for case_id, nodes in recorder.checks.items():
            for node in nodes:
                self.cases[node.name] += 1
                if node.failure_info is None:
                    continue
                failure = node.failure_info.failure
                failing = exchanges.get(failure.case_id or case_id)
                # Every failing case is attributed on its own, so that a new bug never hides among known ones.
                known = explain(node.name, failing, self.environment.spec, self.environment.contract) if failing else ()
                self.explained[node.name][known] += 1
                found = self.findings.setdefault(node.name, {})
                signature = (known, failure.title, failure.message.splitlines()[0] if failure.message else "")
                new_reason = all(seen != known for seen, *_ in found)
                if signature not in found and (new_reason or len(found) < FINDINGS_PER_CHECK):
                    found[signature] = _finding(node.name, failure, failing, self.environment, known)

    def rows(self) -> list[CheckResult]:
        # The checks judge the same cases together: share the run's time out between them.
        seconds = (time.monotonic() - self.seconds) / (len(self.cases) + 1)
        rows = []
        for name in sorted(self.cases):
            # A failure no known divergence explains comes first: the row's note shows its title.
            findings = sorted(self.findings.get(name, {}).values(), key=lambda finding: finding.divergence is not None)
            verdict: Verdict = "failed" if findings else "passed"
            unexplained = self.explained[name][()]
            note = f"{unexplained} failing case(s) match no known divergence" if unexplained else ""
            rows.append(CheckResult(GROUP, name, verdict, self.cases[name], note, seconds, findings))
        rows.append(self._authentication(seconds))
        if self.errors:
            rows.append(
                CheckResult(
                    GROUP,
                    "engine",
                    "error",
                    note="Schemathesis could not run every phase",
                    findings=[Finding("Schemathesis engine error", "\n".join(self.errors))],
                )
            )
        return rows

    def _authentication(self, seconds: float) -> CheckResult:
        total = sum(self.authenticated.values())
        refused = self.authenticated[401] + self.authenticated[403]
        if total and refused == total:
            finding = Finding(
                "Every request sent with --token got 401/403",
                ContractViolation(
                    "Every request sent with --token got 401/403",
                    expected="a token that may process callbacks is accepted",
                    received=f"{dict(self.authenticated)} (status: count)",
                ).render(),
            )
            return CheckResult(GROUP, "authentication_accepted", "failed", total, seconds=seconds, findings=[finding])
        return CheckResult(GROUP, "authentication_accepted", "passed", total, seconds=seconds)


def _finding(
    check: str, failure: Any, exchange: Exchange | None, environment: Environment, known: tuple[Divergence, ...]
) -> Finding:
    contract = environment.contract
    title = f"{failure.title} [{failure.code}]"
    notes = [failure.message] if failure.message else []
    if len(known) > 1:
        notes.insert(0, f"This is {' together with '.join(map(str, known))}.")
    text = ContractViolation(
        title,
        expected=EXPECTATIONS.get(check, f"the `{check}` check holds"),
        received=exchange.describe(contract.replay_header) if exchange is not None else "(no response)",
        exchange=exchange,
        divergence=known[0] if len(known) == 1 else None,
        note="\n\n".join(notes) or None,
    ).render()
    return Finding(title, text, SEPARATOR.join(map(str, known)) or None)


def _exchange(interaction: Interaction, label: str, secrets: dict[str, str]) -> Exchange:
    request, response = interaction.request, interaction.response
    assert response is not None
    return Exchange(
        label=label,
        method=request.method,
        url=request.uri,
        request_headers=tuple((k, v) for k, values in request.headers.items() for v in values),
        request_body=request.body or b"",
        status=response.status_code,
        reason=response.message,
        headers=tuple((k, v) for k, values in response.headers.items() for v in values),
        body=response.content,
        started=interaction.timestamp - response.elapsed,
        elapsed=response.elapsed,
        http_version=f"HTTP/{response.http_version}",
        secrets=secrets,
    )


def _phase_line(event: Any, tally: _Tally, started: dict[str, float], progress: Progress) -> list[str]:
    """Show a finished phase; a skipped one also goes into the summary (it explains a gap)."""
    phase = event.phase
    name = phase.name.value
    if phase.skip_reason is not None:
        reason = phase.skip_reason.value.replace("_", " ")
        if name == "stateful" and reason == "not applicable":
            reason = "not applicable: one operation, no links"
        line = f"{GROUP} {name}: skipped ({reason})"
        progress(line)
        return [line]
    if name in ("examples", "coverage", "fuzzing"):
        seconds = time.monotonic() - started.get(name, time.monotonic())
        progress(f"{GROUP} {name}: {tally.phase_cases[name]} requests, {event.status.value} ({seconds:.1f} s)")
    return []


def _engine_error(event: Any) -> str:
    if isinstance(event, events.FatalError):
        return f"fatal: {event.exception!r}"
    return f"{event.label}: {event.value!r}"
