"""The Redis store: shared by every worker of every replica behind a load balancer.

Keys, all under `{namespace}:`

    exc:{id}                      an exception, as JSON text
    exceptions                    sorted set of exception ids, scored by first insertion (the listing order)
    exceptions-seq                the counter behind those scores
    idem:{scope_key}              hash: state, token, fingerprint, created_at, expires_at, response (JSON)
    journal                       list of JSON entries, trimmed to `journal_limit`
    hits:{counter}@{window_start} the hits of one rate-limit window
    settings                      hash of run-time settings

Claim, complete and release are Lua scripts, so each is one atomic step on the server; `apply` is an
optimistic WATCH/MULTI/EXEC transaction, retried when another client touched its keys meanwhile.

Expiry of idempotency keys is logical: the stored `expires_at` is compared with the `now` the caller passes,
because the mock's clock can be shifted. Redis's own TTL only collects garbage, so it is the logical TTL plus
`GC_MARGIN_SECONDS` and never removes a key that is still live.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    ConnectionError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    TimeoutError,
)
from redis.typing import EncodableT, FieldT

from callback_kit.mock_server.errors import ClaimLost, NotFound, StoreUnavailable
from callback_kit.mock_server.stores._codec import (
    CLAIM_LOST,
    dump_exception,
    dump_response,
    load_exception,
    load_response,
    public_record,
)
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

GC_MARGIN_SECONDS = 86_400
APPLY_ATTEMPTS = 50
# A down or unreachable Redis, or one that cannot take writes right now (loading, failing over, full).
_UNAVAILABLE = (ConnectionError, TimeoutError, ReadOnlyError, MasterDownError, OutOfMemoryError)

_CLAIM = """
local record = redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'expires_at', 'response')
if record[1] and tonumber(record[3]) > tonumber(ARGV[3]) then
    if record[1] == 'complete' then
        return {'complete', record[2], record[4]}
    end
    return {'in_flight', record[3]}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'in_flight', 'token', ARGV[1], 'fingerprint', ARGV[2],
           'created_at', ARGV[3], 'expires_at', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {'claimed'}
"""
_COMPLETE = """
local record = redis.call('HMGET', KEYS[1], 'state', 'token', 'created_at')
if record[1] ~= 'in_flight' or record[2] ~= ARGV[1] then
    return 0
end
redis.call('HSET', KEYS[1], 'state', 'complete', 'fingerprint', ARGV[2], 'response', ARGV[3],
           'expires_at', ARGV[4])
local lifetime = math.max(0, math.ceil(tonumber(ARGV[4]) - tonumber(record[3])))
redis.call('EXPIRE', KEYS[1], lifetime + tonumber(ARGV[5]))
return 1
"""
_RELEASE = """
local record = redis.call('HMGET', KEYS[1], 'state', 'token')
if record[1] == 'in_flight' and record[2] == ARGV[1] then
    redis.call('DEL', KEYS[1])
end
return 0
"""
# Write an applied callback (and complete its key) only if nothing changed since it was read: compare-and-set.
_APPLY = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
if ARGV[3] ~= '' then
    local claim = redis.call('HMGET', KEYS[2], 'state', 'token')
    if claim[1] ~= 'in_flight' or claim[2] ~= ARGV[3] then
        return -1
    end
    redis.call('HSET', KEYS[2], 'state', 'complete', 'fingerprint', ARGV[4], 'response', ARGV[5], 'expires_at', ARGV[6])
    redis.call('EXPIRE', KEYS[2], ARGV[7])
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

_PUT = """
if ARGV[3] == 'absent' then
    if not redis.call('SET', KEYS[1], ARGV[2], 'NX') then
        return 0
    end
else
    redis.call('SET', KEYS[1], ARGV[2])
end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
return 1
"""


class RedisStore:
    """A `Store` in Redis; nothing connects until the first call."""

    def __init__(self, url: str, namespace: str = "callback-kit", journal_limit: int = 10_000) -> None:
        self._prefix = f"{namespace}:"
        self._journal_limit = journal_limit
        # Short timeouts so that a down Redis answers 503 at once; one immediate retry so that a pooled
        # connection Redis dropped (a restart, an idle timeout) is replaced without failing the request.
        self._redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=1.0,
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 1),
        )
        self._claim = self._redis.register_script(_CLAIM)
        self._complete = self._redis.register_script(_COMPLETE)
        self._release = self._redis.register_script(_RELEASE)
        self._put = self._redis.register_script(_PUT)
        self._apply_script = self._redis.register_script(_APPLY)

    async def seed(self, records: list[ExceptionRecord], *, replace: bool) -> None:
        async with _unavailable_on_failure():
            if replace:
                await self._delete_matching(_glob_escape(self._prefix) + "*")
            for record in records:
                await self._put_record(record, only_if_absent=True)

    async def get_exception(self, tenant: TenantId | None, exception_id: ExceptionId) -> ExceptionRecord | None:
        async with _unavailable_on_failure():
            text = await self._redis.get(self._key("exc", exception_id))
        if text is None:
            return None
        record = load_exception(text)
        return None if tenant is not None and record.tenant != tenant else record

    async def list_exceptions(self, tenant: TenantId | None) -> list[ExceptionRecord]:
        async with _unavailable_on_failure():
            ids = cast("list[str]", await self._redis.zrange(self._key("exceptions"), 0, -1))
            texts = await self._redis.mget([self._key("exc", i) for i in ids]) if ids else []
        records = [load_exception(text) for text in texts if text is not None]
        return [r for r in records if tenant is None or r.tenant == tenant]

    async def put_exception(self, record: ExceptionRecord) -> None:
        async with _unavailable_on_failure():
            await self._put_record(record, only_if_absent=False)

    async def apply(
        self,
        tenant: TenantId,
        exception_id: ExceptionId,
        transition: Transition,
        completion: Completion | None,
    ) -> ExceptionRecord:
        async with _unavailable_on_failure():
            for _ in range(APPLY_ATTEMPTS):
                applied = await self._apply_once(tenant, exception_id, transition, completion)
                if applied is not None:
                    return applied
                # Another client changed the exception between our read and our write: read again.
        raise StoreUnavailable()

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> ClaimOutcome:
        token = uuid.uuid4().hex
        # Floats travel as repr() so that Lua's tonumber() reads back exactly the caller's values.
        args: list[EncodableT] = [
            token,
            fingerprint,
            repr(now),
            repr(now + in_flight_ttl),
            _gc_ttl(in_flight_ttl),
        ]
        async with _unavailable_on_failure():
            outcome = await self._claim(keys=[self._key("idem", scope_key)], args=args)
        if outcome[0] == "claimed":
            return Claimed(token)
        if outcome[0] == "complete":
            return Replay(load_response(json.loads(outcome[2])), outcome[1])
        return InFlight(max(0.0, float(outcome[1]) - now))

    async def complete(self, completion: Completion) -> bool:
        fields = _completed_fields(completion)
        args: list[EncodableT] = [
            completion.token,
            fields["fingerprint"],
            fields["response"],
            fields["expires_at"],
            GC_MARGIN_SECONDS,
        ]
        async with _unavailable_on_failure():
            done = await self._complete(keys=[self._key("idem", completion.scope_key)], args=args)
        return bool(done)

    async def release(self, scope_key: str, token: str) -> None:
        async with _unavailable_on_failure():
            await self._release(keys=[self._key("idem", scope_key)], args=[token])

    async def idempotency_records(self, now: float) -> list[dict[str, Any]]:
        prefix = self._key("idem", "")
        async with _unavailable_on_failure():
            keys = [key async for key in self._redis.scan_iter(match=_glob_escape(prefix) + "*", count=500)]
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                hashes = await pipe.execute()
        records = [
            (key[len(prefix) :], _private_record(fields))
            for key, fields in zip(keys, hashes, strict=True)
            if fields and float(fields["expires_at"]) > now
        ]
        # SCAN has no order; claim order is what the memory store's insertion order amounts to.
        records.sort(key=lambda item: (item[1]["created_at"], item[0]))
        return [public_record(scope_key, record) for scope_key, record in records]

    async def append_journal(self, entry: dict[str, Any]) -> None:
        key = self._key("journal")
        async with _unavailable_on_failure():
            if self._journal_limit <= 0:
                await self._redis.delete(key)
                return
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, json.dumps(entry, separators=(",", ":")))
                pipe.ltrim(key, -self._journal_limit, -1)
                await pipe.execute()

    async def journal(self, limit: int) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        async with _unavailable_on_failure():
            texts = await self._redis.lrange(self._key("journal"), -limit, -1)
        return [json.loads(text) for text in texts]

    async def hit(self, counter: str, window_start: float, window: float) -> int:
        key = self._key("hits", f"{counter}@{window_start:.0f}")
        async with _unavailable_on_failure(), self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, _gc_ttl(window))
            hits, _ = await pipe.execute()
        return int(hits)

    async def hits(self, counter: str, window_start: float) -> int:
        async with _unavailable_on_failure():
            value = await self._redis.get(self._key("hits", f"{counter}@{window_start:.0f}"))
        return int(value or 0)

    async def get_setting(self, name: str) -> str | None:
        async with _unavailable_on_failure():
            value = await self._redis.hget(self._key("settings"), name)
        return None if value is None else str(value)

    async def settings(self) -> dict[str, str]:
        async with _unavailable_on_failure():
            values = await self._redis.hgetall(self._key("settings"))
        return {str(k): str(v) for k, v in values.items()}

    async def set_setting(self, name: str, value: str | None) -> None:
        async with _unavailable_on_failure():
            if value is None:
                await self._redis.hdel(self._key("settings"), name)
            else:
                await self._redis.hset(self._key("settings"), name, value)

    async def ping(self) -> None:
        async with _unavailable_on_failure():
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

    async def _apply_once(
        self,
        tenant: TenantId,
        exception_id: ExceptionId,
        transition: Transition,
        completion: Completion | None,
    ) -> ExceptionRecord | None:
        """One optimistic attempt in two round trips: read both, then compare-and-set; None when raced."""
        exception_key = self._key("exc", exception_id)
        idem_key = self._key("idem", completion.scope_key) if completion is not None else ""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(exception_key)
            if completion is not None:
                pipe.hmget(idem_key, ["state", "token", "created_at"])
            read = await pipe.execute()
        text = read[0]
        record = load_exception(text) if text is not None else None
        if record is None or record.tenant != tenant:
            raise NotFound("exception not found")
        args: list[EncodableT] = [text, "", ""]
        if completion is not None:
            state, token, created_at = cast("list[Any]", read[1])
            if state != "in_flight" or token != completion.token:
                raise ClaimLost(CLAIM_LOST)
            fields = _completed_fields(completion)
            lifetime = completion.expires_at - float(created_at)
            args[2:] = [
                completion.token,
                fields["fingerprint"],
                fields["response"],
                fields["expires_at"],
                _gc_ttl(lifetime),
            ]
        updated = transition(record)
        args[1] = dump_exception(updated)
        done = await self._apply_script(keys=[exception_key, idem_key or exception_key], args=args)
        if done == -1:
            raise ClaimLost(CLAIM_LOST)
        return updated if done == 1 else None

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    async def _put_record(self, record: ExceptionRecord, *, only_if_absent: bool) -> None:
        keys = [self._key("exc", record.id), self._key("exceptions"), self._key("exceptions-seq")]
        mode = "absent" if only_if_absent else "always"
        await self._put(keys=keys, args=[record.id, dump_exception(record), mode])

    async def _delete_matching(self, pattern: str) -> None:
        batch: list[str] = []
        async for key in self._redis.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) == 500:
                await self._redis.unlink(*batch)
                batch.clear()
        if batch:
            await self._redis.unlink(*batch)


@asynccontextmanager
async def _unavailable_on_failure() -> AsyncIterator[None]:
    try:
        yield
    except _UNAVAILABLE as error:
        raise StoreUnavailable() from error


def _completed_fields(completion: Completion) -> dict[FieldT, EncodableT]:
    return {
        "state": "complete",
        "fingerprint": completion.fingerprint,
        "response": json.dumps(dump_response(completion.response), separators=(",", ":")),
        "expires_at": repr(completion.expires_at),
    }


def _private_record(fields: dict[str, str]) -> dict[str, Any]:
    """A stored hash in the shape the memory store keeps, for `public_record`."""
    response = fields.get("response")
    return {
        "state": fields["state"],
        "fingerprint": fields["fingerprint"],
        "created_at": float(fields["created_at"]),
        "expires_at": float(fields["expires_at"]),
        "response": load_response(json.loads(response)) if response else None,
    }


def _gc_ttl(logical_seconds: float) -> int:
    """Redis's TTL for a key that is logically live `logical_seconds` more: never shorter, a day longer."""
    return max(0, math.ceil(logical_seconds)) + GC_MARGIN_SECONDS


def _glob_escape(text: str) -> str:
    """`text` matched literally by SCAN's MATCH pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
