"""The SQLite store: one file, kept across restarts, shared by the worker processes of one machine.

Every method that reads and then writes runs in one `BEGIN IMMEDIATE` transaction: the write lock is taken
before the read, so of several processes racing for one key exactly one finds it free. Waiting for that lock
is bounded by `busy_timeout`; past it, and on any other database error (unwritable file, missing directory,
disk I/O), the caller gets `StoreUnavailable` and the next call starts again on a fresh connection.

The methods are `async` but call SQLite directly: each call is a few indexed statements on a local file, and
no `await` may fall inside a transaction anyway.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from callback_kit.mock_server.errors import ClaimLost, NotFound, StoreUnavailable
from callback_kit.mock_server.stores import _sqlite_rows as layout
from callback_kit.mock_server.stores._codec import CLAIM_LOST, dump_response, load_response, public_record
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

BUSY_TIMEOUT_SECONDS = 5.0
TRIM_EVERY = 64  # journal appends between two trims
COUNTER_GRACE_SECONDS = 86_400.0
"""How long a finished rate-limit window is kept: only a clock turned back by more than this forgets hits."""


class SQLiteStore:
    """A `Store` in one SQLite file; the connection is opened on first use."""

    def __init__(self, path: str, journal_limit: int = 10_000) -> None:
        self._path = path
        self._journal_limit = journal_limit
        self._connection: sqlite3.Connection | None = None
        # One connection serves the whole process; the lock keeps threads (if any) from sharing a transaction.
        self._lock = threading.Lock()

    async def seed(self, records: list[ExceptionRecord], *, replace: bool) -> None:
        with self._transaction() as db:
            if replace:
                for table in layout.TABLES:
                    db.execute(f"DELETE FROM {table}")
            layout.seed(db, records)

    async def get_exception(self, tenant: TenantId | None, exception_id: ExceptionId) -> ExceptionRecord | None:
        with self._reading() as db:
            row = db.execute("SELECT tenant, record FROM exceptions WHERE id = ?", (exception_id,)).fetchone()
            if row is None or (tenant is not None and row[0] != tenant):
                return None
            return layout.whole(db, row[1], exception_id)

    async def list_exceptions(self, tenant: TenantId | None) -> list[ExceptionRecord]:
        with self._reading() as db:
            found = db.execute(
                "SELECT id, record FROM exceptions WHERE ?1 IS NULL OR tenant = ?1 ORDER BY rowid", (tenant,)
            ).fetchall()
            return [layout.whole(db, text, exception_id) for exception_id, text in found]

    async def put_exception(self, record: ExceptionRecord) -> None:
        with self._transaction() as db:
            layout.put(db, record)

    async def apply(
        self,
        tenant: TenantId,
        exception_id: ExceptionId,
        transition: Transition,
        completion: Completion | None,
    ) -> ExceptionRecord:
        """Its history holds only the entries this call added (the store keeps the rest apart)."""
        with self._transaction() as db:
            found = layout.current(db, exception_id)
            if found is None or found[0] != tenant:
                raise NotFound("exception not found")
            # Completing first checks the claim in the same statement; a refused transition rolls it back.
            if completion is not None and not _store_completion(db, completion):
                raise ClaimLost(CLAIM_LOST)
            updated = transition(found[1])
            layout.update(db, updated)
        return updated

    async def claim(self, scope_key: str, fingerprint: str, now: float, in_flight_ttl: float) -> ClaimOutcome:
        token = uuid.uuid4().hex
        with self._reading() as db:
            # One statement, atomic on its own: take the key when it is free or expired (a fresh key: nothing
            # else to do); else the next statement says what holds it.
            taken = db.execute(
                "INSERT INTO idempotency (scope_key, state, token, fingerprint, created_at, expires_at)"
                " VALUES (?1, 'in_flight', ?2, ?3, ?4, ?5) ON CONFLICT (scope_key) DO UPDATE SET"
                " state = excluded.state, token = excluded.token, fingerprint = excluded.fingerprint,"
                " created_at = excluded.created_at, expires_at = excluded.expires_at, response = NULL"
                " WHERE idempotency.expires_at <= ?4",
                (scope_key, token, fingerprint, now, now + in_flight_ttl),
            ).rowcount
            row = (
                None
                if taken
                else db.execute(
                    "SELECT state, fingerprint, expires_at, response FROM idempotency WHERE scope_key = ?", (scope_key,)
                ).fetchone()
            )
        if row is None:
            # Taken, or (in the instant between the two statements) released by its holder: ours either way.
            return Claimed(token) if taken else await self.claim(scope_key, fingerprint, now, in_flight_ttl)
        state, stored_fingerprint, expires_at, response = row
        if state == "complete":
            return Replay(load_response(json.loads(response)), stored_fingerprint)
        return InFlight(max(0.0, expires_at - now))

    async def complete(self, completion: Completion) -> bool:
        with self._transaction() as db:
            return _store_completion(db, completion)

    async def release(self, scope_key: str, token: str) -> None:
        with self._transaction() as db:
            db.execute(
                "DELETE FROM idempotency WHERE scope_key = ? AND state = 'in_flight' AND token = ?",
                (scope_key, token),
            )

    async def idempotency_records(self, now: float) -> list[dict[str, Any]]:
        with self._reading() as db:
            rows = db.execute(
                "SELECT scope_key, state, fingerprint, created_at, expires_at, response FROM idempotency"
                " WHERE expires_at > ? ORDER BY rowid",
                (now,),
            ).fetchall()
        return [
            public_record(
                scope_key,
                {
                    "state": state,
                    "fingerprint": fingerprint,
                    "created_at": created_at,
                    "expires_at": expires_at,
                    "response": load_response(json.loads(response)) if response is not None else None,
                },
            )
            for scope_key, state, fingerprint, created_at, expires_at, response in rows
        ]

    async def append_journal(self, entry: dict[str, Any]) -> None:
        with self._reading() as db:
            cursor = db.execute("INSERT INTO journal (entry) VALUES (?)", (json.dumps(entry, separators=(",", ":")),))
            seq = cursor.lastrowid or 0
            if seq % TRIM_EVERY == 0 or self._journal_limit < TRIM_EVERY:
                # The oldest beyond the limit go in one index range, every TRIM_EVERY entries (reads stop at
                # the limit meanwhile): most callbacks write one row in one statement.
                db.execute("DELETE FROM journal WHERE seq <= ?", (seq - max(0, self._journal_limit),))

    async def journal(self, limit: int) -> list[dict[str, Any]]:
        limit = min(limit, self._journal_limit)
        if limit <= 0:
            return []
        with self._reading() as db:
            rows = db.execute(
                "SELECT entry FROM (SELECT seq, entry FROM journal ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                (limit,),
            ).fetchall()
        return [json.loads(text) for (text,) in rows]

    async def hit(self, counter: str, window_start: float, window: float) -> int:
        name = f"{counter}@{window_start:.0f}"
        with self._transaction() as db:
            db.execute("DELETE FROM counters WHERE window_end < ?", (window_start - COUNTER_GRACE_SECONDS,))
            db.execute(
                "INSERT INTO counters (name, window_end, hits) VALUES (?, ?, 1)"
                " ON CONFLICT (name) DO UPDATE SET hits = hits + 1",
                (name, window_start + window),
            )
            (hits,) = db.execute("SELECT hits FROM counters WHERE name = ?", (name,)).fetchone()
        return int(hits)

    async def hits(self, counter: str, window_start: float) -> int:
        with self._reading() as db:
            row = db.execute("SELECT hits FROM counters WHERE name = ?", (f"{counter}@{window_start:.0f}",)).fetchone()
        return 0 if row is None else int(row[0])

    async def get_setting(self, name: str) -> str | None:
        with self._reading() as db:
            row = db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    async def settings(self) -> dict[str, str]:
        with self._reading() as db:
            rows = db.execute("SELECT name, value FROM settings").fetchall()
        return {str(name): str(value) for name, value in rows}

    async def set_setting(self, name: str, value: str | None) -> None:
        with self._transaction() as db:
            if value is None:
                db.execute("DELETE FROM settings WHERE name = ?", (name,))
            else:
                db.execute(
                    "INSERT INTO settings (name, value) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (name, value),
                )

    async def ping(self) -> None:
        with self._reading() as db:
            db.execute("SELECT 1").fetchone()

    async def close(self) -> None:
        with self._lock:
            self._discard()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` … `COMMIT`, rolled back when the body raises."""
        with self._lock, self._unavailable_on_error():
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.execute("COMMIT")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for statements that each stand alone (SQLite runs each as its own transaction)."""
        with self._lock, self._unavailable_on_error():
            yield self._connect()

    @contextmanager
    def _unavailable_on_error(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as error:
            # Whatever broke (a lock held too long, a vanished file), a new connection is the way back.
            self._discard()
            raise StoreUnavailable() from error

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        db = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            layout.prepare(db, BUSY_TIMEOUT_SECONDS)
        except BaseException:
            db.close()
            raise
        self._connection = db
        return db

    def _discard(self) -> None:
        """Close the connection (rolling back any open transaction); the next call opens a new one."""
        if self._connection is not None:
            with suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None


def _store_completion(db: sqlite3.Connection, completion: Completion) -> bool:
    """Mark a key held with the completion's token complete; False when the claim was lost."""
    cursor = db.execute(
        "UPDATE idempotency SET state = 'complete', fingerprint = ?, response = ?, expires_at = ?"
        " WHERE scope_key = ? AND state = 'in_flight' AND token = ?",
        (
            completion.fingerprint,
            json.dumps(dump_response(completion.response), separators=(",", ":")),
            completion.expires_at,
            completion.scope_key,
            completion.token,
        ),
    )
    return cursor.rowcount == 1
