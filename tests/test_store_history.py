"""An exception's callback history through many callbacks: the newest 100, oldest first, on every store;
SQLite keeps reading (and then moves) a history written inside the record by an older kit; Redis applies in
one round trip against its last copy, and reseeds when it comes back empty."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callback_kit.mock_server.callbacks import HISTORY_LIMIT, Callback, transition
from callback_kit.mock_server.stores._codec import dump_exception
from callback_kit.mock_server.stores.memory import MemoryStore
from callback_kit.mock_server.stores.redis import RedisStore
from callback_kit.mock_server.stores.sqlite import SQLiteStore
from callback_kit.mock_server.types import ExceptionRecord, Store


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A Redis namespace of this test's own, deleted afterwards."""
    name = f"test-history-{uuid.uuid4().hex}"
    yield name
    asyncio.run(forget(redis_url, name))


async def forget(redis_url: str, name: str) -> None:
    """Delete every key of a namespace (what a FLUSHALL does to it)."""
    client = Redis.from_url(redis_url, decode_responses=True)
    keys = [key async for key in client.scan_iter(match=f"{name}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh store of each kind (each test closes it on its own event loop)."""
    if request.param == "memory":
        return MemoryStore()
    if request.param == "sqlite":
        return SQLiteStore(str(tmp_path / "store.sqlite3"))
    return RedisStore(request.getfixturevalue("redis_url"), namespace=request.getfixturevalue("namespace"))


def update(number: int) -> Callback:
    return Callback(external_system="JIRA", external_issue_id=f"J-{number}", status="OPEN")


def test_history_keeps_the_newest_callbacks_oldest_first(store: Store) -> None:
    """After 105 callbacks the record shows callbacks 6 to 105, and the version counts all of them."""
    record = ExceptionRecord(id=str(uuid.uuid4()), tenant="acme", status="OPEN")

    async def scenario() -> ExceptionRecord | None:
        await store.seed([record], replace=False)
        for number in range(1, HISTORY_LIMIT + 6):
            await store.apply("acme", record.id, transition(update(number), f"t{number}", f"k{number}"), None)
        found = await store.get_exception("acme", record.id)
        await store.close()
        return found

    stored = asyncio.run(scenario())
    assert stored is not None
    assert [entry["externalIssueId"] for entry in stored.callbacks] == [f"J-{n}" for n in range(6, HISTORY_LIMIT + 6)]
    assert stored.version == HISTORY_LIMIT + 6
    assert stored.external_issue_id == f"J-{HISTORY_LIMIT + 5}"


def test_sqlite_reads_and_moves_a_history_kept_inside_the_record(tmp_path: Path) -> None:
    """A row whose record holds its history (the older layout) shows it, and keeps it when a callback lands."""
    path = tmp_path / "old.sqlite3"
    store = SQLiteStore(str(path))
    record = ExceptionRecord(
        id=str(uuid.uuid4()), tenant="acme", status="OPEN", callbacks=({"externalIssueId": "old"},)
    )

    async def scenario() -> tuple[ExceptionRecord | None, ExceptionRecord | None]:
        await store.ping()  # creates the tables
        with sqlite3.connect(path) as db:
            db.execute("INSERT INTO exceptions VALUES (?, ?, ?)", (record.id, record.tenant, dump_exception(record)))
        before = await store.get_exception("acme", record.id)
        await store.apply("acme", record.id, transition(update(1), "t1", "k1"), None)
        after = await store.get_exception("acme", record.id)
        await store.close()
        return before, after

    before, after = asyncio.run(scenario())
    assert before is not None
    assert [e["externalIssueId"] for e in before.callbacks] == ["old"]
    assert after is not None
    assert [e["externalIssueId"] for e in after.callbacks] == ["old", "J-1"]
    with sqlite3.connect(path) as db:
        (text,) = db.execute("SELECT record FROM exceptions WHERE id = ?", (record.id,)).fetchone()
    assert '"callbacks":[]' in text


@pytest.mark.redis
def test_redis_applies_against_a_copy_another_process_changed(redis_url: str, namespace: str) -> None:
    """Two processes taking turns on one exception: every callback counts, none judged on a stale copy."""
    record = ExceptionRecord(id=str(uuid.uuid4()), tenant="acme", status="OPEN")

    async def scenario() -> ExceptionRecord | None:
        first, second = RedisStore(redis_url, namespace=namespace), RedisStore(redis_url, namespace=namespace)
        await first.seed([record], replace=False)
        for number, store in enumerate([first, second, first, second, first], start=1):
            await store.apply("acme", record.id, transition(update(number), f"t{number}", None), None)
        found = await second.get_exception("acme", record.id)
        await first.close()
        await second.close()
        return found

    stored = asyncio.run(scenario())
    assert stored is not None
    assert stored.version == 6
    assert [entry["externalIssueId"] for entry in stored.callbacks] == [f"J-{n}" for n in range(1, 6)]


@pytest.mark.redis
def test_redis_that_comes_back_empty_is_reseeded_and_says_so(
    redis_url: str, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """After a flush the next settings read (a callback's, or the admin clock's) puts the fixtures back, logging
    one line per flush."""
    record = ExceptionRecord(id=str(uuid.uuid4()), tenant="acme", status="OPEN")
    store = RedisStore(redis_url, namespace=namespace)

    async def scenario() -> list[ExceptionRecord | None]:
        await store.seed([record], replace=False)
        await forget(redis_url, namespace)
        found = [await store.get_exception("acme", record.id)]
        await store.settings()
        found.append(await store.get_exception("acme", record.id))
        await store.settings()  # seeded again: no line
        await forget(redis_url, namespace)
        await store.get_setting("clock_offset")
        found.append(await store.get_exception("acme", record.id))
        await store.close()
        return found

    with caplog.at_level(logging.WARNING, logger="callback_kit.mock_server.stores.redis"):
        found = asyncio.run(scenario())
    assert found == [None, record, record]
    line = f"the Redis store {namespace} came back empty (flushed or not persisted): reseeded 1 fixture exceptions"
    assert [r.getMessage() for r in caplog.records if "came back empty" in r.getMessage()] == [line, line]
