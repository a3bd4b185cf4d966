"""The retry report as typed values (`GET /_mock/report`), and `ClientMisbehaved`, the test failure it raises.

The failure's text is the one `callback-kit report` prints, so that a test and a terminal show a finding alike.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from callback_kit.cli.report import render
from callback_kit.mock_server.report.advice import Pattern as Pattern  # the report's own vocabulary, re-exported
from callback_kit.testing.journal import FaultAction

PATTERNS: tuple[Pattern, ...] = get_args(Pattern)


def patterns_of(names: Pattern | Iterable[Pattern]) -> frozenset[Pattern]:
    """One pattern's name or several, checked: an unknown name (a typo would ignore nothing) is a `ValueError`."""
    given: list[str] = [names] if isinstance(names, str) else list(names)
    unknown = [name for name in given if name not in PATTERNS]
    if unknown:
        raise ValueError(f"unknown retry pattern {unknown[0]!r}: the patterns are {', '.join(PATTERNS)}")
    return frozenset(name for name in PATTERNS if name in given)


@dataclass(frozen=True)
class CitedRequest:
    """A journal entry a finding rests on."""

    request_id: str
    at: str
    exception_id: str | None
    idempotency_key: str | None
    status: int
    code: str | None
    replayed: bool | None
    retry_after: int | None
    fault: FaultAction | None
    latency_ms: float
    started_at: str = ""
    """When the request started (its answer time `at` less its latency); the evidence is in this order."""


@dataclass(frozen=True)
class Finding:
    """One retry pattern that loses or duplicates work, with the requests that show it and what to do instead."""

    pattern: Pattern
    started_at: str
    summary: str
    advice: str
    evidence: tuple[CitedRequest, ...]
    omitted: int = 0
    """How many more requests show it than `evidence` cites."""


@dataclass(frozen=True)
class ClientCounts:
    requests: int
    replays: int
    errors: int
    lost_responses: int
    without_key: int


@dataclass(frozen=True)
class ClientReport:
    """What one client (a tenant's principal) did."""

    tenant: str | None
    principal: str | None
    counts: ClientCounts
    verdict: str
    findings: tuple[Finding, ...]
    credential: str | None = None
    """For a caller security refused (no principal): the digest of the credential it sent."""


@dataclass(frozen=True)
class RetryReport:
    """The retry report of the journal: per client, its counts and findings."""

    verdict: str
    entries: int
    clients: tuple[ClientReport, ...]
    json: dict[str, Any] = field(repr=False, compare=False)
    """The report as the admin API sent it."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every client's findings."""
        return tuple(finding for client in self.clients for finding in client.findings)

    @property
    def patterns(self) -> frozenset[Pattern]:
        return frozenset(finding.pattern for finding in self.findings)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryReport:
        return cls(
            verdict=data["verdict"],
            entries=int(data["entries"]),
            clients=tuple(_client(c) for c in data["clients"]),
            json=data,
        )

    def to_text(self, *, ignore: Pattern | Iterable[Pattern] = ()) -> str:
        """The report as `callback-kit report` prints it: the clients with findings (those of `ignore` left out)."""
        out = io.StringIO()
        render(_with_findings_only(self.json, patterns_of(ignore)), out)
        return out.getvalue()


class ClientMisbehaved(AssertionError):
    """The retry report found the client losing or duplicating work; the message cites each finding."""

    def __init__(self, report: RetryReport, ignore: Pattern | Iterable[Pattern] = ()) -> None:
        ignored = patterns_of(ignore)
        self.report = report
        self.findings = tuple(f for f in report.findings if f.pattern not in ignored)
        super().__init__(f"the client's retries lose or duplicate work:\n{report.to_text(ignore=ignored)}".rstrip())


def _client(data: dict[str, Any]) -> ClientReport:
    counts = data["counts"]
    return ClientReport(
        tenant=data.get("tenant"),
        principal=data.get("principal"),
        counts=ClientCounts(
            requests=counts["requests"],
            replays=counts["replays"],
            errors=counts["errors"],
            lost_responses=counts["lostResponses"],
            without_key=counts["withoutKey"],
        ),
        verdict=data["verdict"],
        findings=tuple(_finding(f) for f in data["findings"]),
        credential=data.get("credential"),
    )


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(
        pattern=data["pattern"],
        started_at=data["startedAt"],
        summary=data["summary"],
        advice=data["advice"],
        evidence=tuple(
            CitedRequest(
                request_id=cited["requestId"],
                at=cited["at"],
                exception_id=cited.get("exceptionId"),
                idempotency_key=cited.get("idempotencyKey"),
                status=int(cited["status"]),
                code=cited.get("code"),
                replayed=cited.get("replayed"),
                retry_after=cited.get("retryAfter"),
                fault=cited.get("fault"),
                latency_ms=float(cited.get("latencyMs") or 0.0),
                started_at=cited.get("startedAt") or "",
            )
            for cited in data["evidence"]
        ),
        omitted=int(data.get("omitted") or 0),
    )


def _with_findings_only(report: dict[str, Any], ignore: frozenset[str]) -> dict[str, Any]:
    """The report's JSON narrowed to the clients that have findings besides those of `ignore`, verdicts recounted."""
    clients = []
    for client in report["clients"]:
        findings = [f for f in client["findings"] if f["pattern"] not in ignore]
        if findings:
            clients.append({**client, "findings": findings, "verdict": _count(len(findings))})
    total = sum(len(c["findings"]) for c in clients)
    verdict = _count(total) + (f" (not counting {', '.join(sorted(ignore))})" if ignore else "")
    return {**report, "findings": total, "verdict": verdict, "clients": clients}


def _count(findings: int) -> str:
    return f"{findings} finding{'' if findings == 1 else 's'}" if findings else "clean"
