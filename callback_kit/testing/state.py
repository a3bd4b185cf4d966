"""What the mock holds, as typed values: the seeded tenants with their tokens, and an exception's state.

The tenants and tokens are the kit's fixtures (`fixtures/tokens.json`, the README's tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["OPEN", "ASSIGNED", "PENDING_RESOLUTION", "RESOLVED"]
ADMIN_TOKEN = "kit-admin-token"


@dataclass(frozen=True)
class Tenant:
    """A seeded tenant and the token of its integration (a principal that may process callbacks)."""

    name: str
    id: str
    token: str
    principal: str

    @property
    def authorization(self) -> dict[str, str]:
        """The headers that carry its token, `{"Authorization": "Bearer ..."}`: `headers=acme.authorization`."""
        return {"Authorization": f"Bearer {self.token}"}


ACME = Tenant("acme", "7c2e1b9a-4d35-4a8f-9b61-2f0d8e3c5a10", "acme-integration-token", "acme-jira")
GLOBEX = Tenant("globex", "e5a94c27-18b3-4f6e-8d02-9c7b1a6f3e48", "globex-integration-token", "globex-webhook")


@dataclass(frozen=True)
class AppliedCallback:
    """A callback the exception's history keeps: one per time it was applied (a replay is not applied)."""

    at: str
    status: str
    external_system: str | None
    external_issue_id: str | None
    idempotency_key: str | None


@dataclass(frozen=True)
class ExceptionState:
    """An exception as the admin API shows it (`GET /_mock/exceptions/{id}`)."""

    id: str
    tenant: str
    status: Status
    version: int
    assignee: str | None
    external_system: str | None
    external_issue_id: str | None
    callbacks: tuple[AppliedCallback, ...]
    """The callbacks applied to it, oldest first (the newest few, as the mock keeps them)."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExceptionState:
        return cls(
            id=data["id"],
            tenant=data["tenant"],
            status=data["status"],
            version=int(data["version"]),
            assignee=data.get("assignee"),
            external_system=data.get("externalSystem"),
            external_issue_id=data.get("externalIssueId"),
            callbacks=tuple(
                AppliedCallback(
                    at=c["at"],
                    status=c["status"],
                    external_system=c.get("externalSystem"),
                    external_issue_id=c.get("externalIssueId"),
                    idempotency_key=c.get("idempotencyKey"),
                )
                for c in data.get("callbacks") or ()
            ),
        )
