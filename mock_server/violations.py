"""The contract violations a journal lists (the validating proxy judges each exchange it forwards), for the report.

Entries written by the mock carry none; an entry of the proxy lists each violation by check name and message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def violations_of(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every violation in the entries (oldest first), each with the request that showed it."""
    return [
        {
            "check": violation.get("check"),
            "message": violation.get("message"),
            "requestId": entry.get("requestId"),
            "at": entry.get("at"),
            "principal": entry.get("principal"),
            "exceptionId": entry.get("exceptionId"),
            "idempotencyKey": entry.get("idempotencyKey"),
            "status": entry.get("status"),
            "replayed": entry.get("replayed"),
        }
        for entry in entries
        for violation in entry.get("violations") or ()
    ]
