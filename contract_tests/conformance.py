"""Schemathesis over the spec: every built-in check and phase, run by its engine, one row per Schemathesis check.

Three adjustments make generated cases meaningful against a stateful, idempotent endpoint:
* real exception ids (from the factory, else random UUIDs) as the path example and a path dictionary, so
  valid cases reach 200 and not only 404;
* a fresh idempotency key for every generated request whose key headers are valid, so that unrelated cases
  never replay each other's responses (headers that carried different keys keep different keys under the
  policy `precedence`; under `reject` all get the same key, as that policy requires);
* a run where every request sent with the token got 401/403 fails (`authentication_accepted`), as
  Schemathesis' `[warnings] fail-on` would.
Every failing case is kept (the suite groups them by cause); the run's `--header`s go on every request.
"""

from __future__ import annotations

import contextlib
import copy
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import schemathesis
from schemathesis import hooks
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.recorder import Interaction, ScenarioRecorder

from callback_kit.contract import callback_operation
from callback_kit.contract.checks import Violation, describe
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.client import new_key
from callback_kit.contract_tests.environment import Environment
from callback_kit.contract_tests.failures import Interrupted
from callback_kit.contract_tests.model import Status
from callback_kit.contract_tests.registry import Context, check
from callback_kit.contract_tests.results import CheckResult, Finding
from callback_kit.contract_tests.results import Status as Outcome

GROUP = "schemathesis"
OWN = "authentication_accepted"
POOL: tuple[Status, ...] = ("OPEN", "OPEN", "OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED")
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


@cache
def schemathesis_checks() -> tuple[str, ...]:
    """The names of Schemathesis' built-in checks (each a row of the report), and the suite's own."""
    import schemathesis.specs.openapi.checks  # noqa: F401 - registers the OpenAPI checks
    from schemathesis.checks import CHECKS

    return (*sorted(c.__name__ for c in CHECKS.get_all()), OWN)


@check(GROUP, rows=schemathesis_checks)
def conformance(ctx: Context) -> None:
    """Every Schemathesis check holds for every generated case (one row per check)."""
    environment = ctx.environment
    wanted = [name for name in schemathesis_checks() if ctx.wants_row(name)]
    ids = _exception_ids(environment)
    schema = schemathesis.openapi.from_dict(
        _spec_with_example(environment.spec, ids[0]), config=_config(environment, ids, wanted)
    )
    tally = _Tally(environment)
    started: dict[str, float] = {}
    with _fresh_keys(schema, environment):
        stream = from_schema(schema).execute()
        for event in stream:
            if environment.stop.is_set():
                stream.stop()
            if isinstance(event, events.PhaseStarted):
                started[event.phase.name.value] = time.monotonic()
            elif isinstance(event, events.ScenarioFinished):
                tally.scenario(event.phase.value, event.recorder)
            elif isinstance(event, events.PhaseFinished):
                _phase_line(event, tally, started, ctx)
            elif isinstance(event, events.NonFatalError | events.FatalError):
                tally.errors.append(_engine_error(event))
    if environment.stop.is_set():
        raise Interrupted
    ctx.rows.extend(tally.rows([name for name in wanted if name != OWN], with_own=OWN in wanted))
    statuses = ", ".join(f"{status}×{count}" for status, count in sorted(tally.statuses.items()))
    ctx.note(f"{GROUP} answers: {statuses or 'none'}")
    if not any(200 <= status < 300 for status in tally.statuses):
        ctx.note(f"{GROUP}: no generated request reached 2xx (no exception factory, or unknown ids)")


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


def _config(environment: Environment, ids: list[str], wanted: Sequence[str]) -> SchemathesisConfig:
    settings = environment.settings
    schemes = list(environment.spec.get("components", {}).get("securitySchemes", {}))
    checks: dict[str, Any] = {"enabled": True}
    if set(schemathesis_checks()) - set(wanted):
        checks = {"enabled": False, **{name: {"enabled": True} for name in wanted if name != OWN}}
    return SchemathesisConfig.from_dict(
        {
            "seed": settings.seed,
            "workers": settings.workers,
            "continue-on-failure": True,
            "base-url": settings.base_url,
            "request-timeout": settings.timeout,
            "headers": dict(settings.headers),
            "cache": {"enabled": False},
            "output": {"sanitization": {"enabled": False}},
            "auth": {"openapi": {schemes[0]: {"bearer": settings.token}}} if schemes else {},
            "generation": {"mode": "all", "max-examples": settings.max_examples, "database": "none"},
            "checks": checks,
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
            keep_apart = contract.on_disagreeing_headers == "precedence"
            fresh = {value: new_key() for value in values} if keep_apart else dict.fromkeys(values, new_key())
            for name, value in zip(names, values, strict=True):
                case.headers[name] = fresh[value]

    hooks.GLOBAL_HOOK_DISPATCHER.register_hook_with_name(before_call, "before_call")
    try:
        yield
    finally:
        hooks.unregister(before_call)


class _Tally:
    """Cases and failing cases per check, and every exchange into the run's recorder."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.cases: Counter[str] = Counter()
        self.findings: dict[str, list[Finding]] = {}
        self.started = time.monotonic()
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
            exchange = _exchange(interaction, f"{GROUP}/{phase}")
            exchanges[case_id] = exchange
            self.environment.recorder.add(exchange)
            self.phase_cases[phase] += 1
            self.statuses[exchange.status] += 1
            if exchange.request_header("authorization") == bearer:
                self.authenticated[exchange.status] += 1
        for case_id, nodes in recorder.checks.items():
            for node in nodes:
                self.cases[node.name] += 1
                if node.failure_info is not None:
                    failing = exchanges.get(node.failure_info.failure.case_id or case_id)
                    violation = _violation(node.name, node.failure_info.failure, failing, self.environment)
                    self.findings.setdefault(node.name, []).append(Finding(f"{GROUP}/{node.name}", violation))

    def rows(self, names: Sequence[str], *, with_own: bool) -> list[CheckResult]:
        # The checks judge the same cases together: share the run's time out between them.
        seconds = (time.monotonic() - self.started) / (len(names) + 1)
        rows = []
        for name in names:
            findings = self.findings.get(name, [])
            status: Outcome = "failed" if findings else "passed"
            rows.append(CheckResult(GROUP, name, status, self.cases[name], "", seconds, findings))
        if with_own:
            rows.append(self._authentication(seconds))
        if self.errors:
            text = "\n".join(self.errors)
            rows.append(
                CheckResult(GROUP, "engine", "error", note="Schemathesis could not run every phase", error=text)
            )
        return rows

    def _authentication(self, seconds: float) -> CheckResult:
        total = sum(self.authenticated.values())
        refused = self.authenticated[401] + self.authenticated[403]
        if not (total and refused == total):
            return CheckResult(GROUP, OWN, "passed", total, seconds=seconds)
        violation = Violation(
            check=OWN,
            title=f"Every request sent with {self.environment.settings.flag('--token')} got 401/403",
            expected="a token that may process callbacks is accepted",
            received=f"{dict(self.authenticated)} (status: count)",
        )
        return CheckResult(
            GROUP, OWN, "failed", total, seconds=seconds, findings=[Finding(f"{GROUP}/{OWN}", violation)]
        )


def _violation(check: str, failure: Any, exchange: Exchange | None, environment: Environment) -> Violation:
    return Violation(
        check=check,
        title=f"{failure.title} [{failure.code}]",
        expected=EXPECTATIONS.get(check, f"the `{check}` check holds"),
        received=describe(exchange, environment.contract) if exchange is not None else "(no response)",
        exchange=exchange,
        note=failure.message.strip() or None,
    )


def _exchange(interaction: Interaction, label: str) -> Exchange:
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
    )


def _phase_line(event: Any, tally: _Tally, started: dict[str, float], ctx: Context) -> None:
    """Show a finished phase once; a skipped one says why (a gap in what was tried)."""
    phase = event.phase
    name = phase.name.value
    if phase.skip_reason is not None:
        reason = phase.skip_reason.value.replace("_", " ")
        if name == "stateful" and reason == "not applicable":
            reason = "not applicable: one operation, no links"
        ctx.progress(f"{GROUP} {name}: skipped ({reason})")
    elif name in ("examples", "coverage", "fuzzing", "stateful"):
        seconds = time.monotonic() - started.get(name, time.monotonic())
        ctx.progress(f"{GROUP} {name}: {tally.phase_cases[name]} requests, {event.status.value} ({seconds:.1f} s)")


def _engine_error(event: Any) -> str:
    if isinstance(event, events.FatalError):
        return f"fatal: {event.exception!r}"
    return f"{event.label}: {event.value!r}"
