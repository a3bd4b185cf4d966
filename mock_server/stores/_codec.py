"""How the persistent stores (SQLite, Redis) write records as JSON text."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

from mock_server.types import ExceptionRecord, StoredResponse


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
