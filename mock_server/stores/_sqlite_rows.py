"""How the SQLite store lays out its rows (the schema, an exception apart from its callback history) and
prepares a new connection (WAL, `synchronous = NORMAL`, the schema).

An exception's row holds its fields only; its history is one row per callback in `history`, so applying a
callback writes one small row whatever the history holds (a record that carried its last 100 callbacks was
decoded and encoded whole on every callback: the cost grew with the history of a hot exception). Reading a
whole record (admin API, listing) joins the newest `HISTORY_LIMIT` rows back. Rows written by an older kit,
with the history inside the record, are moved to `history` the first time they are written again.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from callback_kit.mock_server.callbacks import HISTORY_LIMIT
from callback_kit.mock_server.stores._codec import dump_exception, load_exception
from callback_kit.mock_server.types import ExceptionRecord

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS exceptions (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, record TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS history (seq INTEGER PRIMARY KEY, exception TEXT NOT NULL, entry TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS history_by_exception ON history (exception, seq)",
    "CREATE TABLE IF NOT EXISTS idempotency (scope_key TEXT PRIMARY KEY, state TEXT NOT NULL,"
    " token TEXT NOT NULL, fingerprint TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL,"
    " response TEXT)",
    "CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, window_end REAL NOT NULL, hits INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS counters_by_window_end ON counters (window_end)",
    "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
TRIM_EVERY = 32
TABLES = ("exceptions", "history", "idempotency", "journal", "counters", "settings")
_UPSERT = (
    "INSERT INTO exceptions (id, tenant, record) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE"
    " SET tenant = excluded.tenant, record = excluded.record"
)


def prepare(db: sqlite3.Connection, busy_timeout: float) -> None:
    """Set a new connection up: wait for locks up to `busy_timeout`, WAL, and the tables."""
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    _use_wal(db, busy_timeout)
    # In WAL mode NORMAL syncs at checkpoints only: a committed transaction survives the process being killed
    # (it is in the WAL file, in the OS's cache), but a power loss may take the last few back.
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("BEGIN IMMEDIATE")
    for statement in SCHEMA:
        db.execute(statement)
    db.execute("COMMIT")


def _use_wal(db: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch the file to WAL mode (a no-op once it is), waiting up to the busy timeout for other connections.

    SQLite answers this PRAGMA "database is locked" at once, without its busy handler, while another connection
    holds a write lock, which is what happens when several workers open a new file together: so retry here.
    """
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def head(record: ExceptionRecord) -> str:
    """The exception's row: its fields without the history."""
    return dump_exception(dataclasses.replace(record, callbacks=()))


def put(db: sqlite3.Connection, record: ExceptionRecord) -> None:
    """Insert or replace an exception, its history included (the row keeps its rowid: the listing order)."""
    db.execute(_UPSERT, (record.id, record.tenant, head(record)))
    db.execute("DELETE FROM history WHERE exception = ?", (record.id,))
    append(db, record.id, record.callbacks)


def seed(db: sqlite3.Connection, records: list[ExceptionRecord]) -> None:
    """Insert the exceptions not there yet, with their history."""
    for record in records:
        cursor = db.execute(
            "INSERT OR IGNORE INTO exceptions (id, tenant, record) VALUES (?, ?, ?)",
            (record.id, record.tenant, head(record)),
        )
        if cursor.rowcount == 1:
            append(db, record.id, record.callbacks)


def current(db: sqlite3.Connection, exception_id: str) -> tuple[str, ExceptionRecord] | None:
    """(tenant, record without its history) for a callback to apply; an older row's history is moved out first."""
    row = db.execute("SELECT tenant, record FROM exceptions WHERE id = ?", (exception_id,)).fetchone()
    if row is None:
        return None
    record = load_exception(row[1])
    if record.callbacks:
        append(db, exception_id, record.callbacks)
        record = dataclasses.replace(record, callbacks=())
    return str(row[0]), record


def update(db: sqlite3.Connection, updated: ExceptionRecord) -> None:
    """Write an applied callback: the row, and the history entries it added (the oldest beyond the limit go)."""
    db.execute("UPDATE exceptions SET tenant = ?, record = ? WHERE id = ?", (updated.tenant, head(updated), updated.id))
    append(db, updated.id, updated.callbacks)
    if updated.version % TRIM_EVERY:
        return  # reads stop at HISTORY_LIMIT; the rows beyond it go every TRIM_EVERY callbacks
    # One index range: the rows of this exception older than its newest HISTORY_LIMIT.
    db.execute(
        "DELETE FROM history WHERE exception = ?1 AND seq <= (SELECT seq FROM history WHERE exception = ?1"
        " ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
        (updated.id, HISTORY_LIMIT),
    )


def append(db: sqlite3.Connection, exception_id: str, entries: Iterable[dict[str, Any]]) -> None:
    db.executemany(
        "INSERT INTO history (exception, entry) VALUES (?, ?)",
        [(exception_id, json.dumps(entry, separators=(",", ":"), sort_keys=True)) for entry in entries],
    )


def whole(db: sqlite3.Connection, text: str, exception_id: str) -> ExceptionRecord:
    """A record as the store shows it: its row and its newest `HISTORY_LIMIT` history entries, oldest first."""
    record = load_exception(text)
    rows = db.execute(
        "SELECT entry FROM (SELECT seq, entry FROM history WHERE exception = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq",
        (exception_id, HISTORY_LIMIT),
    ).fetchall()
    history = (*record.callbacks, *(json.loads(entry) for (entry,) in rows))
    return dataclasses.replace(record, callbacks=history[-HISTORY_LIMIT:])
