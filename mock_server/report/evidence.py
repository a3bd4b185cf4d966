"""A finding as the report shows it: its pattern, summary and advice, and the journal entries it cites."""

from __future__ import annotations

from typing import Any

from callback_kit.mock_server.clock import iso
from callback_kit.mock_server.report.advice import ADVICE, Pattern
from callback_kit.mock_server.report.attempt import Attempt

MAX_CITED = 20


def finding(pattern: Pattern, summary: str, cited: list[Attempt]) -> dict[str, Any]:
    cited = sorted(cited, key=lambda a: a.start)
    finding: dict[str, Any] = {
        "pattern": pattern,
        "startedAt": iso(cited[0].start),
        "summary": summary,
        "advice": ADVICE[pattern],
        "evidence": [_evidence(a) for a in cited[:MAX_CITED]],
    }
    if len(cited) > MAX_CITED:
        finding["omitted"] = len(cited) - MAX_CITED
    return finding


def _evidence(attempt: Attempt) -> dict[str, Any]:
    entry = attempt.entry
    fault = entry.get("fault") or {}
    return {
        "requestId": entry.get("requestId"),
        "startedAt": iso(attempt.start),
        "at": entry.get("at"),
        "exceptionId": entry.get("exceptionId"),
        "idempotencyKey": attempt.key,
        "status": entry.get("status"),
        "code": entry.get("code"),
        "replayed": entry.get("replayed"),
        "retryAfter": attempt.retry_after,
        "fault": fault.get("action"),
        "latencyMs": entry.get("latencyMs"),
    }
