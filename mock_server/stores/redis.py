"""The Redis store: shared by every worker of every replica behind a load balancer.

Keys, all under `{namespace}:`

    exc:{id}                      an exception's fields, as JSON text (its history apart)
    hist:{id}                     list of the exception's history entries (JSON), the newest HISTORY_LIMIT
    exceptions                    sorted set of exception ids, scored by first insertion (the listing order)
    exceptions-seq                the counter behind those scores
    idem:{scope_key}              hash: state, token, fingerprint, created_at, expires_at, response (JSON)
    journal                       list of JSON entries, trimmed to `journal_limit`
    hits:{counter}@{window_start} the hits of one rate-limit window
    settings                      hash of run-time settings
    seeded                        set once the fixtures are in: its absence means Redis came back empty

Claim, complete, release and apply are Lua scripts (`_redis_scripts`): each one atomic step, one round trip.
`apply` is a compare-and-set against this process's last copy of the exception; when another process changed
it, the script answers the current copy and the callback is applied to that. A first processing costs four
round trips: the settings (with the seed marker), the claim, the apply (it completes the key), the journal.

Idempotency keys expire logically (`expires_at` against the caller's `now`: the mock's clock can be shifted);
Redis's TTL only collects garbage a day later (`GC_MARGIN_SECONDS`), never a key that is still live.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError
from redis.typing import EncodableT

from callback_kit.mock_server.callbacks import HISTORY_LIMIT
from callback_kit.mock_server.errors import ClaimLost, MockError, NotFound, StoreUnavailable
from callback_kit.mock_server.stores import StoreURLError
from callback_kit.mock_server.stores import _redis_codec as codec
from callback_kit.mock_server.stores import _redis_scripts as scripts
from callback_kit.mock_server.stores._codec import (
    CLAIM_LOST,
    dump_exception,
    load_exception,
    load_response,
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

APPLY_ATTEMPTS = 50
TURNS = 64  # locks, each shared by the exceptions whose ids hash to it
KNOWN_LIMIT = 10_000  # exceptions whose last seen row a process keeps for the compare-and-set
log = logging.getLogger(__name__)


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
        self._claim = self._redis.register_script(scripts.CLAIM)
        self._complete = self._redis.register_script(scripts.COMPLETE)
        self._release = self._redis.register_script(scripts.RELEASE)
        self._put = self._redis.register_script(scripts.PUT)
        self._apply_script = self._redis.register_script(scripts.APPLY)
        self._known: dict[str, str] = {}  # exception id -> the row as this process last read or wrote it
        self._turns = [asyncio.Lock() for _ in range(TURNS)]
        self._seeded: list[ExceptionRecord] | None = None  # what to put back if Redis comes back empty

    async def seed(self, records: list[ExceptionRecord], *, replace: bool) -> None:
        self._seeded = list(records)
        self._known.clear()
        async with codec.unavailable_on_failure():
            if replace:
                await codec.delete_matching(self._redis, codec.glob_escape(self._prefix) + "*")
            for record in records:
                await self._put_record(record, only_if_absent=True)
            await self._redis.set(self._key("seeded"), "1")

    async def get_exception(self, tenant: TenantId | None, exception_id: ExceptionId) -> ExceptionRecord | None:
        records = await self._whole([exception_id])
        record = records[0] if records else None
        return None if record is None or (tenant is not None and record.tenant != tenant) else record

    async def list_exceptions(self, tenant: TenantId | None) -> list[ExceptionRecord]:
        async with codec.unavailable_on_failure():
            ids = cast("list[str]", await self._redis.zrange(self._key("exceptions"), 0, -1))
        records = await self._whole(ids)
        return [r for r in records if r is not None and (tenant is None or r.tenant == tenant)]

    async def put_exception(self, record: ExceptionRecord) -> None:
        async with codec.unavailable_on_failure():
            await self._put_record(record, only_if_absent=False)

    async def apply(
        self, tenant: TenantId, exception_id: ExceptionId, transition: Transition, completion: Completion | None
    ) -> ExceptionRecord:
        # This process's callbacks to one exception take turns (racing, they only made the compare-and-set fail:
        # 50 failed attempts on a hot exception); other processes' races are what the compare-and-set settles.
        async with self._turns[hash(exception_id) % len(self._turns)]:
            return await self._apply(tenant, exception_id, transition, completion)

    async def _apply(
        self, tenant: TenantId, exception_id: ExceptionId, transition: Transition, completion: Completion | None
    ) -> ExceptionRecord:
        text = self._known.get(exception_id)
        confirmed = False  # read from Redis in this call (a copy kept from earlier may be stale)
        async with codec.unavailable_on_failure():
            for _ in range(APPLY_ATTEMPTS):
                if text is None:
                    text, confirmed = cast("str | None", await self._redis.get(self._key("exc", exception_id))), True
                    if text is None:
                        raise NotFound("exception not found")
                try:
                    record = load_exception(text)
                    if record.tenant != tenant:
                        raise NotFound("exception not found")
                    legacy = record.callbacks  # a row written with its history inside, by an older kit
                    updated = transition(dataclasses.replace(record, callbacks=()))
                except MockError:
                    if confirmed:
                        raise
                    text = None  # judged on a stale copy: read it again
                    continue
                row = dump_exception(dataclasses.replace(updated, callbacks=()))  # the history goes apart
                claim, entries = (
                    completion.scope_key if completion else "",
                    codec.entries((*legacy, *updated.callbacks)),
                )
                keys = [self._key("exc", exception_id), self._key("idem", claim), self._key("hist", exception_id)]
                args: list[EncodableT] = [text, row, *codec.completion_args(completion), HISTORY_LIMIT, *entries]
                done = await self._apply_script(keys=keys, args=args)
                if done[0] == 1:
                    self._remember(exception_id, row)
                    return updated
                if done[0] == -1:
                    raise ClaimLost(CLAIM_LOST)
                if done[0] == -2:
                    self._known.pop(exception_id, None)
                    raise NotFound("exception not found")
                text, confirmed = done[1], True  # another process changed it: apply to the current copy
        raise StoreUnavailable()

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> ClaimOutcome:
        token = uuid.uuid4().hex
        # Floats travel as repr() so that Lua's tonumber() reads back exactly the caller's values.
        args: list[EncodableT] = [token, fingerprint, repr(now), repr(now + in_flight_ttl), codec.gc_ttl(in_flight_ttl)]
        async with codec.unavailable_on_failure():
            outcome = await self._claim(keys=[self._key("idem", scope_key)], args=args)
        if outcome[0] == "claimed":
            return Claimed(token)
        if outcome[0] == "complete":
            return Replay(load_response(json.loads(outcome[2])), outcome[1])
        return InFlight(max(0.0, float(outcome[1]) - now))

    async def complete(self, completion: Completion) -> bool:
        args = codec.completion_args(completion)
        async with codec.unavailable_on_failure():
            done = await self._complete(keys=[self._key("idem", completion.scope_key)], args=args)
        return bool(done)

    async def release(self, scope_key: str, token: str) -> None:
        async with codec.unavailable_on_failure():
            await self._release(keys=[self._key("idem", scope_key)], args=[token])

    async def idempotency_records(self, now: float) -> list[dict[str, Any]]:
        prefix = self._key("idem", "")
        async with codec.unavailable_on_failure():
            keys = [key async for key in self._redis.scan_iter(match=codec.glob_escape(prefix) + "*", count=500)]
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                hashes = await pipe.execute()
        return codec.live_records([key[len(prefix) :] for key in keys], hashes, now)

    async def append_journal(self, entry: dict[str, Any]) -> None:
        key = self._key("journal")
        async with codec.unavailable_on_failure():
            if self._journal_limit <= 0:
                await self._redis.delete(key)
                return
            # No MULTI/EXEC: an append that lands between these two is trimmed by the next append.
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.rpush(key, json.dumps(entry, separators=(",", ":")))
                pipe.ltrim(key, -self._journal_limit, -1)
                await pipe.execute()

    async def journal(self, limit: int) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        async with codec.unavailable_on_failure():
            texts = await self._redis.lrange(self._key("journal"), -limit, -1)
        return [json.loads(text) for text in texts]

    async def hit(self, counter: str, window_start: float, window: float) -> int:
        key = self._key("hits", f"{counter}@{window_start:.0f}")
        async with codec.unavailable_on_failure(), self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, codec.gc_ttl(window))
            hits, _ = await pipe.execute()
        return int(hits)

    async def hits(self, counter: str, window_start: float) -> int:
        async with codec.unavailable_on_failure():
            value = await self._redis.get(self._key("hits", f"{counter}@{window_start:.0f}"))
        return int(value or 0)

    async def get_setting(self, name: str) -> str | None:
        value = await self._with_marker(lambda pipe: pipe.hget(self._key("settings"), name))
        return None if value is None else str(value)

    async def settings(self) -> dict[str, str]:
        values = await self._with_marker(lambda pipe: pipe.hgetall(self._key("settings")))
        return {str(k): str(v) for k, v in values.items()}

    async def _with_marker(self, read: Callable[[Pipeline], object]) -> Any:
        """A settings read (every callback and the admin clock make one) with the seed marker in the same round
        trip: when Redis came back empty, reseed first."""
        async with codec.unavailable_on_failure(), self._redis.pipeline(transaction=False) as pipe:
            read(pipe)
            pipe.exists(self._key("seeded"))
            value, seeded = await pipe.execute()
        if not seeded and self._seeded is not None:
            await self._reseed()
        return value

    async def _reseed(self) -> None:
        """Put the fixtures back (without replacing anything another process put back first), and say so."""
        records = self._seeded or []
        message = "the Redis store %s came back empty (flushed or not persisted): reseeded %d fixture exceptions"
        log.warning(message, self._prefix.rstrip(":"), len(records))
        await self.seed(records, replace=False)

    async def set_setting(self, name: str, value: str | None) -> None:
        async with codec.unavailable_on_failure():
            if value is None:
                await self._redis.hdel(self._key("settings"), name)
            else:
                await self._redis.hset(self._key("settings"), name, value)

    async def ping(self) -> None:
        try:
            async with codec.unavailable_on_failure():
                await self._redis.ping()
        except ResponseError as exc:  # Redis refuses what the URL asks (a database it lacks): no use waiting
            raise StoreURLError(f"Redis refuses it ({exc})") from None

    async def close(self) -> None:
        await self._redis.aclose()

    def _remember(self, exception_id: str, row: str) -> None:
        self._known = {} if len(self._known) >= KNOWN_LIMIT else self._known
        self._known[exception_id] = row

    async def _whole(self, ids: list[str]) -> list[ExceptionRecord | None]:
        """Records with their history (the newest HISTORY_LIMIT entries), in one round trip."""
        if not ids:
            return []
        async with codec.unavailable_on_failure(), self._redis.pipeline(transaction=False) as pipe:
            for exception_id in ids:
                pipe.get(self._key("exc", exception_id))
                pipe.lrange(self._key("hist", exception_id), -HISTORY_LIMIT, -1)
            read = await pipe.execute()
        return [codec.whole(text, entries) for text, entries in zip(read[::2], read[1::2], strict=True)]

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    async def _put_record(self, record: ExceptionRecord, *, only_if_absent: bool) -> None:
        keys = [self._key("exc", record.id), self._key("exceptions"), self._key("exceptions-seq")]
        mode = "absent" if only_if_absent else "always"
        row = dump_exception(dataclasses.replace(record, callbacks=()))
        self._known.pop(record.id, None)
        await self._put(
            keys=[*keys, self._key("hist", record.id)], args=[record.id, row, mode, *codec.entries(record.callbacks)]
        )
