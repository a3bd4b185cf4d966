"""An exception's callback history through many callbacks: the newest 100, oldest first, on every store; and
SQLite keeps reading (and then moves) a history written inside the record by an older kit."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from callback_kit.mock_server.callbacks import HISTORY_LIMIT, Callback, transition
from callback_kit.mock_server.stores._codec import dump_exception
from callback_kit.mock_server.stores.memory import MemoryStore
from callback_kit.mock_server.stores.sqlite import SQLiteStore
from callback_kit.mock_server.types import ExceptionRecord, Store


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store of each kind that keeps history itself."""
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(str(tmp_path / "store.sqlite3"))
    yield made
    asyncio.run(made.close())


def update(number: int) -> Callback:
    return Callback(external_system="JIRA", external_issue_id=f"J-{number}", status="OPEN")


def test_history_keeps_the_newest_callbacks_oldest_first(store: Store) -> None:
    """After 105 callbacks the record shows callbacks 6 to 105, and the version counts all of them."""
    record = ExceptionRecord(id=str(uuid.uuid4()), tenant="acme", status="OPEN")

    async def scenario() -> ExceptionRecord | None:
        await store.seed([record], replace=False)
        for number in range(1, HISTORY_LIMIT + 6):
            await store.apply("acme", record.id, transition(update(number), f"t{number}", f"k{number}"), None)
        return await store.get_exception("acme", record.id)

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
