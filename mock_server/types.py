"""The kit's shared vocabulary: the values that cross module boundaries, and the one `Store` interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ExceptionId = str
"""A lower-case, hyphenated UUID."""
TenantId = str
IdempotencyKey = str
Status = Literal["OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED"]
STATUSES: tuple[Status, ...] = ("OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant, the principal inside it, and the permissions of its token."""

    tenant: TenantId
    subject: str
    permissions: frozenset[str]


@dataclass(frozen=True)
class ExceptionRecord:
    """A reconciliation exception as the mock keeps it."""

    id: ExceptionId
    tenant: TenantId
    status: Status
    version: int = 1
    assignee: str | None = None
    due_at: str | None = None
    resolution_notes: str | None = None
    external_system: str | None = None
    external_issue_id: str | None = None
    updated_at: str | None = None
    callbacks: tuple[dict[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for replay, byte for byte."""

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Claimed:
    """The key was free (or expired): the caller owns it until it completes, releases or its claim expires."""

    token: str


@dataclass(frozen=True)
class Replay:
    """The key completed earlier: send this response again."""

    response: StoredResponse
    fingerprint: str


@dataclass(frozen=True)
class InFlight:
    """Another request holds the key; it expires in `retry_after` seconds at the latest."""

    retry_after: float


ClaimOutcome = Claimed | Replay | InFlight


@dataclass(frozen=True)
class Completion:
    """What to store for a claimed key when the callback it guards is applied."""

    scope_key: str
    token: str
    fingerprint: str
    response: StoredResponse
    expires_at: float


Transition = Callable[[ExceptionRecord], ExceptionRecord]
"""A pure function from the current record to the new one; it raises a `MockError` to refuse."""


class Store(Protocol):
    """All of the mock's state: exceptions, idempotency records, the journal, counters and the clock offset.

    Every method that changes more than one thing does so atomically, across workers and replicas.
    """

    async def seed(self, records: list[ExceptionRecord], *, replace: bool) -> None:
        """Insert the fixture records (all state is dropped first when `replace`)."""

    async def get_exception(self, tenant: TenantId | None, exception_id: ExceptionId) -> ExceptionRecord | None:
        """One exception, or None when absent (or of another tenant, when `tenant` is given)."""

    async def list_exceptions(self, tenant: TenantId | None) -> list[ExceptionRecord]:
        """Every exception, of one tenant or of all."""

    async def put_exception(self, record: ExceptionRecord) -> None:
        """Create or overwrite an exception."""

    async def apply(
        self, tenant: TenantId, exception_id: ExceptionId, transition: Transition, completion: Completion | None
    ) -> ExceptionRecord:
        """Apply `transition` to the exception and, in the same atomic step, complete the claimed key.

        Raises `NotFound`, whatever `transition` raises, or `ClaimLost` when the claim is no longer held.
        """

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> ClaimOutcome:
        """Claim a key, or report the stored response to replay or the request holding it."""

    async def complete(self, completion: Completion) -> bool:
        """Store the response of a claimed key; False when the claim was lost."""

    async def release(self, scope_key: str, token: str) -> None:
        """Give a claimed key back (its request failed), so that it can be retried at once."""

    async def idempotency_records(self, now: float) -> list[dict[str, Any]]:
        """The live idempotency records, for the inspector."""

    async def append_journal(self, entry: dict[str, Any]) -> None:
        """Add one entry to the request journal."""

    async def journal(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` journal entries, oldest first."""

    async def hit(self, counter: str, window_start: float, window: float) -> int:
        """Count one hit in a fixed window; returns the hits in that window so far."""

    async def hits(self, counter: str, window_start: float) -> int:
        """The hits counted so far in a window, without counting one (0 for a window never hit)."""

    async def get_setting(self, name: str) -> str | None:
        """A shared run-time setting (clock offset, fault rules)."""

    async def settings(self) -> dict[str, str]:
        """Every shared run-time setting, in one read (a request takes this snapshot once)."""

    async def set_setting(self, name: str, value: str | None) -> None:
        """Set or clear a shared run-time setting."""

    async def ping(self) -> None:
        """Raise `StoreUnavailable` when the store cannot be reached."""

    async def close(self) -> None:
        """Release connections."""
