"""`build_report`: the journal's entries grouped per client, each client's findings, counts and verdict."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from callback_kit.mock_server.report.attempt import Attempt, to_attempt, with_bodies
from callback_kit.mock_server.report.patterns import findings as all_findings
from callback_kit.mock_server.violations import violations_of

Client = tuple[str | None, str | None, str | None]  # tenant, principal, credential digest (of a refused caller)


def build_report(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The retry report of these journal entries (oldest first): per client, counts, findings and a verdict."""
    clients: dict[Client, list[Attempt]] = defaultdict(list)
    for entry in entries:
        clients[_client(entry)].append(to_attempt(entry))
    sections: list[dict[str, Any]] = []
    for (tenant, principal, credential), journaled in sorted(clients.items(), key=lambda item: _order(*item[0])):
        attempts = sorted(with_bodies(journaled), key=lambda a: a.start)  # stable: ties keep the journal's order
        findings = sorted(all_findings(attempts), key=lambda f: (f["startedAt"], f["pattern"]))
        sections.append(
            {
                "tenant": tenant,
                "principal": principal,
                "credential": credential,
                "counts": _counts(attempts),
                "verdict": _verdict(len(findings)),
                "findings": findings,
            }
        )
    total = sum(len(s["findings"]) for s in sections)
    violations = violations_of(entries)
    return {
        "verdict": _verdict(total, len(violations)),
        "findings": total,
        "violations": violations,
        "entries": len(entries),
        "from": entries[0].get("at") if entries else None,
        "to": entries[-1].get("at") if entries else None,
        "clients": sections,
    }


def _client(entry: dict[str, Any]) -> Client:
    """Who sent an entry: its tenant and principal, or for a refused caller the digest of its credential."""
    principal = entry.get("principal")
    return entry.get("tenant"), principal, None if principal else entry.get("credential")


def _order(tenant: str | None, principal: str | None, credential: str | None) -> tuple[str, str, str]:
    return str(principal), str(tenant), str(credential)


def _counts(attempts: list[Attempt]) -> dict[str, int]:
    return {
        "requests": len(attempts),
        "replays": sum(a.entry.get("replayed") is True for a in attempts),
        "errors": sum(a.status >= 400 for a in attempts),
        "lostResponses": sum(a.lost for a in attempts),
        "withoutKey": sum(a.key is None for a in attempts),
    }


def _verdict(findings: int, violations: int = 0) -> str:
    parts = [f"{n} {noun}{'s' if n > 1 else ''}" for n, noun in ((findings, "finding"), (violations, "violation")) if n]
    return ", ".join(parts) or "clean"
