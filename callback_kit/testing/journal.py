"""The request journal as typed values: one `JournalEntry` per callback request, those security refused included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

FaultAction = Literal["latency", "status", "lost_response", "slow_processing"]


@dataclass(frozen=True)
class JournalEntry:
    """One callback as the mock saw it, and what it answered (`GET /_mock/journal`)."""

    at: str
    """When the answer was written (RFC 3339, UTC, milliseconds, by the mock's clock)."""
    request_id: str
    tenant: str | None
    principal: str | None
    method: str
    path: str
    exception_id: str | None
    idempotency_key: str | None
    key_header: str | None
    body: str
    """The request body as text (its first 16 KiB)."""
    status: int
    code: str | None
    message: str | None
    replayed: bool | None
    """True for a stored answer sent again; None when the answer carried no `X-Idempotency-Replayed`."""
    retry_after: int | None
    fault: FaultAction | None
    claimed: bool
    """The request held its idempotency key while it was processed."""
    latency_ms: float
    applied: bool | None = None
    """The callback changed the exception (a replay or a deduplicated 200 did not; None: not said)."""
    credential: str | None = None
    """For a request security refused (401, 403): a digest of its Authorization header, never the token."""

    @property
    def answer_lost(self) -> bool:
        """The client never got this answer: the `lost_response` fault dropped the connection after processing."""
        return self.fault == "lost_response" and self.status < 400

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        """An entry from the admin API's JSON."""
        fault = data.get("fault") or {}
        return cls(
            at=data["at"],
            request_id=data["requestId"],
            tenant=data.get("tenant"),
            principal=data.get("principal"),
            method=data["method"],
            path=data["path"],
            exception_id=data.get("exceptionId"),
            idempotency_key=data.get("idempotencyKey"),
            key_header=data.get("keyHeader"),
            body=data.get("body") or "",
            status=int(data["status"]),
            code=data.get("code"),
            message=data.get("message"),
            replayed=data.get("replayed"),
            retry_after=data.get("retryAfter"),
            fault=fault.get("action"),
            claimed=bool(data.get("claimed")),
            latency_ms=float(data.get("latencyMs") or 0.0),
            applied=data.get("applied"),
            credential=data.get("credential"),
        )
