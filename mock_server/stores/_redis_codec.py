"""How the Redis store encodes what it sends and reads back, and how a Redis failure becomes the mock's 503."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import (
    ConnectionError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    TimeoutError,
)
from redis.typing import EncodableT, FieldT

from callback_kit.mock_server.callbacks import HISTORY_LIMIT
from callback_kit.mock_server.errors import StoreUnavailable
from callback_kit.mock_server.stores._codec import dump_response, load_exception, load_response, public_record
from callback_kit.mock_server.types import Completion, ExceptionRecord

GC_MARGIN_SECONDS = 86_400
# A down or unreachable Redis, or one that cannot take writes right now (loading, failing over, full).
_UNAVAILABLE = (ConnectionError, TimeoutError, ReadOnlyError, MasterDownError, OutOfMemoryError)


@asynccontextmanager
async def unavailable_on_failure() -> AsyncIterator[None]:
    try:
        yield
    except _UNAVAILABLE as error:
        raise StoreUnavailable() from error


def completed_fields(completion: Completion) -> dict[FieldT, EncodableT]:
    return {
        "state": "complete",
        "fingerprint": completion.fingerprint,
        "response": json.dumps(dump_response(completion.response), separators=(",", ":")),
        "expires_at": repr(completion.expires_at),
    }


def completion_args(completion: Completion | None) -> list[EncodableT]:
    """The apply script's token, fingerprint, response, expiry and GC margin ('' for each without a claim)."""
    if completion is None:
        return ["", "", "", "", ""]
    fields = completed_fields(completion)
    return [completion.token, fields["fingerprint"], fields["response"], fields["expires_at"], GC_MARGIN_SECONDS]


def entries(history: tuple[dict[str, Any], ...]) -> list[EncodableT]:
    return [json.dumps(entry, separators=(",", ":"), sort_keys=True) for entry in history]


def live_records(scope_keys: list[str], hashes: list[dict[str, str]], now: float) -> list[dict[str, Any]]:
    """The live idempotency records among the hashes SCAN found, in claim order, as the admin API shows them."""
    records = [
        (scope_key, private_record(fields))
        for scope_key, fields in zip(scope_keys, hashes, strict=True)
        if fields and float(fields["expires_at"]) > now
    ]
    # SCAN has no order; claim order is what the memory store's insertion order amounts to.
    records.sort(key=lambda item: (item[1]["created_at"], item[0]))
    return [public_record(scope_key, record) for scope_key, record in records]


def private_record(fields: dict[str, str]) -> dict[str, Any]:
    """A stored hash in the shape the memory store keeps, for `public_record`."""
    response = fields.get("response")
    return {
        "state": fields["state"],
        "fingerprint": fields["fingerprint"],
        "created_at": float(fields["created_at"]),
        "expires_at": float(fields["expires_at"]),
        "response": load_response(json.loads(response)) if response else None,
    }


def gc_ttl(logical_seconds: float) -> int:
    """Redis's TTL for a key that is logically live `logical_seconds` more: never shorter, a day longer."""
    return max(0, math.ceil(logical_seconds)) + GC_MARGIN_SECONDS


def glob_escape(text: str) -> str:
    """`text` matched literally by SCAN's MATCH pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def whole(text: str | None, entries: list[str]) -> ExceptionRecord | None:
    """A record from its row and its history list (a row from an older kit may hold history of its own)."""
    if text is None:
        return None
    record = load_exception(text)
    history = (*record.callbacks, *(json.loads(entry) for entry in entries))[-HISTORY_LIMIT:]
    return dataclasses.replace(record, callbacks=history)


async def delete_matching(redis: Redis, pattern: str) -> None:
    """Unlink every key matching `pattern`, 500 at a time."""
    batch: list[str] = []
    async for key in redis.scan_iter(match=pattern, count=500):
        batch.append(key)
        if len(batch) == 500:
            await redis.unlink(*batch)
            batch.clear()
    if batch:
        await redis.unlink(*batch)
