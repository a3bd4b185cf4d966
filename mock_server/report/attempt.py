"""A journal entry as the report reads it: an attempt with its start and end, and how attempts are grouped.

An entry's `at` is when its answer was written, so the attempt started `latencyMs` earlier. An entry journaled
without its body (a fault that answered before reading it) is taken to carry the body its key carried elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

IN_FLIGHT_CODE = "MTCH-0018"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Journal times are cut to the millisecond: two moments closer than this are not called ordered.
SLACK = 0.005


@dataclass(frozen=True, eq=False)
class Attempt:
    """One journal entry, with its start and end as seconds since the epoch (compared by identity)."""

    entry: dict[str, Any]
    start: float
    end: float
    body: str | None

    @property
    def key(self) -> str | None:
        return self.entry.get("idempotencyKey")

    @property
    def status(self) -> int:
        return int(self.entry.get("status") or 0)

    @property
    def exception(self) -> str:
        return str(self.entry.get("exceptionId") or "").lower()

    @property
    def retry_after(self) -> int | None:
        return self.entry.get("retryAfter")

    @property
    def lost(self) -> bool:
        """The client never got this answer (the mock drops only answers below 400)."""
        fault = self.entry.get("fault") or {}
        return fault.get("action") == "lost_response" and self.status < 400

    @property
    def applied(self) -> bool:
        """The callback changed the exception: as the mock journaled it, else any fresh answer below 400."""
        applied = self.entry.get("applied")
        if isinstance(applied, bool):
            return applied
        return 0 < self.status < 400 and self.entry.get("replayed") is not True

    @property
    def refused(self) -> bool:
        """Security refused the caller (401 or 403): the entry names a credential digest, not a principal."""
        return self.status in (401, 403)

    @property
    def credential(self) -> str | None:
        return self.entry.get("credential")

    @property
    def retryable(self) -> bool:
        """An error that asks to be retried later: 429, a 5xx, or 409 for a key in flight."""
        return self.status in RETRYABLE_STATUSES or (self.status == 409 and self.entry.get("code") == IN_FLIGHT_CODE)


def to_attempt(entry: dict[str, Any]) -> Attempt:
    at = entry.get("at")
    try:
        end = datetime.fromisoformat(str(at)).timestamp()
    except ValueError:
        raise ValueError(
            f"journal entry {entry.get('requestId')!r} has at={at!r}: expected RFC 3339, e.g. 2026-11-01T09:00:00.000Z"
        ) from None
    return Attempt(entry, end - float(entry.get("latencyMs") or 0) / 1000, end, entry.get("fingerprint"))


def with_bodies(attempts: list[Attempt]) -> list[Attempt]:
    """The attempts, those without a body given the body that their key carried in another attempt."""
    known = {(a.exception, a.key): a.body for a in attempts if a.key and a.body}
    return [a if a.body or not a.key else replace(a, body=known.get((a.exception, a.key))) for a in attempts]


def groups(attempts: list[Attempt], key: Any) -> Iterable[list[Attempt]]:
    """The attempts that share a grouping key (None: in no group), each group in start order."""
    groups: dict[Hashable, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        value = key(attempt)
        if value is not None:
            groups[value].append(attempt)
    return groups.values()
