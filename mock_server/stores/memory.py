"""The in-memory store: one process, no persistence; the backend of the unit tests.

Atomicity comes for free: no method awaits between reading and writing, so on one event loop no other
request can interleave.
"""

from __future__ import annotations

import uuid
from collections import deque
from typing import Any

from callback_kit.mock_server.errors import ClaimLost, NotFound
from callback_kit.mock_server.stores._codec import CLAIM_LOST, public_record
from callback_kit.mock_server.types import (
    Claimed,
    ClaimOutcome,
    Completion,
    ExceptionId,
    ExceptionRecord,
    InFlight,
    Replay,
    TenantId,
    Transition,
)


class MemoryStore:
    """A `Store` held in dictionaries."""

    def __init__(self, journal_limit: int = 10_000) -> None:
        self._exceptions: dict[ExceptionId, ExceptionRecord] = {}
        self._keys: dict[str, dict[str, Any]] = {}
        self._journal: deque[dict[str, Any]] = deque(maxlen=journal_limit)
        self._counters: dict[str, int] = {}
        self._settings: dict[str, str] = {}

    async def seed(self, records: list[ExceptionRecord], *, replace: bool) -> None:
        if replace:
            self._exceptions.clear()
            self._keys.clear()
            self._journal.clear()
            self._counters.clear()
            self._settings.clear()
        for record in records:
            self._exceptions.setdefault(record.id, record)

    async def get_exception(self, tenant: TenantId | None, exception_id: ExceptionId) -> ExceptionRecord | None:
        record = self._exceptions.get(exception_id)
        if record is None or (tenant is not None and record.tenant != tenant):
            return None
        return record

    async def list_exceptions(self, tenant: TenantId | None) -> list[ExceptionRecord]:
        return [r for r in self._exceptions.values() if tenant is None or r.tenant == tenant]

    async def put_exception(self, record: ExceptionRecord) -> None:
        self._exceptions[record.id] = record

    async def apply(
        self, tenant: TenantId, exception_id: ExceptionId, transition: Transition, completion: Completion | None
    ) -> ExceptionRecord:
        record = await self.get_exception(tenant, exception_id)
        if record is None:
            raise NotFound("exception not found")
        if completion is not None and not self._holds(completion.scope_key, completion.token):
            raise ClaimLost(CLAIM_LOST)
        updated = transition(record)
        self._exceptions[exception_id] = updated
        if completion is not None:
            self._store_completion(completion)
        return updated

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> ClaimOutcome:
        record = self._keys.get(scope_key)
        if record is not None and record["expires_at"] <= now:
            record = None
        if record is None:
            token = uuid.uuid4().hex
            self._keys[scope_key] = {
                "state": "in_flight",
                "token": token,
                "fingerprint": fingerprint,
                "created_at": now,
                "expires_at": now + in_flight_ttl,
            }
            return Claimed(token)
        if record["state"] == "complete":
            return Replay(record["response"], record["fingerprint"])
        return InFlight(max(0.0, record["expires_at"] - now))

    async def complete(self, completion: Completion) -> bool:
        if not self._holds(completion.scope_key, completion.token):
            return False
        self._store_completion(completion)
        return True

    async def release(self, scope_key: str, token: str) -> None:
        if self._holds(scope_key, token):
            del self._keys[scope_key]

    async def idempotency_records(self, now: float) -> list[dict[str, Any]]:
        return [public_record(key, record) for key, record in self._keys.items() if record["expires_at"] > now]

    async def append_journal(self, entry: dict[str, Any]) -> None:
        self._journal.append(entry)

    async def journal(self, limit: int) -> list[dict[str, Any]]:
        return list(self._journal)[-limit:] if limit > 0 else []

    async def hit(self, counter: str, window_start: float, window: float) -> int:
        name = f"{counter}@{window_start:.0f}"
        self._counters[name] = self._counters.get(name, 0) + 1
        return self._counters[name]

    async def hits(self, counter: str, window_start: float) -> int:
        return self._counters.get(f"{counter}@{window_start:.0f}", 0)

    async def get_setting(self, name: str) -> str | None:
        return self._settings.get(name)

    async def settings(self) -> dict[str, str]:
        return dict(self._settings)

    async def set_setting(self, name: str, value: str | None) -> None:
        if value is None:
            self._settings.pop(name, None)
        else:
            self._settings[name] = value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _holds(self, scope_key: str, token: str) -> bool:
        record = self._keys.get(scope_key)
        return record is not None and record["state"] == "in_flight" and record["token"] == token

    def _store_completion(self, completion: Completion) -> None:
        previous = self._keys[completion.scope_key]
        self._keys[completion.scope_key] = {
            **previous,
            "state": "complete",
            "fingerprint": completion.fingerprint,
            "response": completion.response,
            "expires_at": completion.expires_at,
        }
