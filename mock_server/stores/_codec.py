"""What the stores share: how records are written as JSON text, and how they are shown."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from callback_kit.mock_server.types import ExceptionRecord, StoredResponse

# Raised when a claim was taken over by another request after its in-flight TTL ran out.
CLAIM_LOST = "the idempotency key was claimed again by another request after this claim's in-flight time ran out"


def dump_exception(record: ExceptionRecord) -> str:
    data = dataclasses.asdict(record)
    data["callbacks"] = list(record.callbacks)
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def load_exception(text: str | bytes) -> ExceptionRecord:
    data = json.loads(text)
    data["callbacks"] = tuple(data.get("callbacks") or ())
    return ExceptionRecord(**data)


def dump_response(response: StoredResponse) -> dict[str, Any]:
    return {
        "status": response.status,
        "body": base64.b64encode(response.body).decode(),
        "contentType": response.content_type,
    }


def load_response(data: dict[str, Any]) -> StoredResponse:
    return StoredResponse(data["status"], base64.b64decode(data["body"]), data["contentType"])


def public_record(scope_key: str, record: dict[str, Any]) -> dict[str, Any]:
    """An idempotency record as the admin API shows it (never the claim token)."""
    response: StoredResponse | None = record.get("response")
    return {
        "scopeKey": scope_key,
        "state": record["state"],
        "fingerprint": record["fingerprint"],
        "createdAt": record.get("created_at"),
        "expiresAt": record["expires_at"],
        "status": response.status if response else None,
    }
