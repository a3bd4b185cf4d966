"""The `Store` contract, run unchanged against the memory, SQLite and Redis stores; then what only SQLite
(a file shared by processes) and Redis (a server that can go away) must add to it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from redis.asyncio import Redis

from callback_kit.mock_server.errors import ClaimLost, Conflict, NotFound, StoreUnavailable
from callback_kit.mock_server.faults import FIRING_WINDOW, firings
from callback_kit.mock_server.stores import sqlite as sqlite_module
from callback_kit.mock_server.stores.memory import MemoryStore
from callback_kit.mock_server.stores.redis import RedisStore
from callback_kit.mock_server.stores.sqlite import SQLiteStore
from callback_kit.mock_server.types import (
    Claimed,
    Completion,
    ExceptionRecord,
    InFlight,
    Replay,
    Store,
    StoredResponse,
)

T = TypeVar("T")

NOW = 1_700_000_000.25
TTL = 30.0
KEY = "acme:key-1"
FINGERPRINT = "sha256:aaaa"
# Not valid UTF-8 on purpose: a replay must give back the very bytes, not a re-encoding of them.
RESPONSE = StoredResponse(200, b'{"status":"ASSIGNED"}\n\xff\x00', "application/json; charset=utf-8")


class Run(Protocol):
    def __call__(self, coro: Coroutine[Any, Any, T], /) -> T: ...


class MakeStore(Protocol):
    def __call__(self, journal_limit: int = 10_000) -> Store: ...


def exception(tenant: str = "acme", status: str = "OPEN", **fields: Any) -> ExceptionRecord:
    return ExceptionRecord(id=str(uuid.uuid4()), tenant=tenant, status=status, **fields)  # type: ignore[arg-type]


def completion(token: str, *, expires_at: float = NOW + 86_400, response: StoredResponse = RESPONSE) -> Completion:
    return Completion(KEY, token, FINGERPRINT, response, expires_at)


def assign(record: ExceptionRecord) -> ExceptionRecord:
    return replace(record, status="ASSIGNED", assignee="ops@acme.test", version=record.version + 1)


def refuse(record: ExceptionRecord) -> ExceptionRecord:
    raise Conflict(f"cannot move an exception from {record.status}")


async def claim_token(store: Store, now: float = NOW) -> str:
    outcome = await store.claim(KEY, FINGERPRINT, now, TTL)
    assert isinstance(outcome, Claimed)
    return outcome.token


async def delete_namespace(redis_url: str, namespace: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def run() -> Iterator[Run]:
    """Runs coroutines on one event loop for the whole test, so that a store's connections outlive a call."""
    with asyncio.Runner() as runner:
        yield runner.run


@pytest.fixture
def redis_namespace(redis_url: str, run: Run) -> Iterator[str]:
    """A namespace of this test's own, deleted afterwards."""
    namespace = f"test-stores-{uuid.uuid4().hex}"
    yield namespace
    run(delete_namespace(redis_url, namespace))


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path, run: Run) -> Iterator[MakeStore]:
    """Opens stores of one backend, all on the same state (file, namespace); closes them afterwards."""
    opened: list[Store] = []
    if request.param == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        namespace: str = request.getfixturevalue("redis_namespace")

    def make(journal_limit: int = 10_000) -> Store:
        store: Store
        if request.param == "memory":
            store = MemoryStore(journal_limit)
        elif request.param == "sqlite":
            store = SQLiteStore(str(tmp_path / "store.sqlite3"), journal_limit)
        else:
            store = RedisStore(redis_url, namespace=namespace, journal_limit=journal_limit)
        opened.append(store)
        return store

    yield make
    for store in opened:
        run(store.close())


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store()


# Exceptions


def test_seeded_exception_is_found_by_its_tenant(store: Store, run: Run) -> None:
    """A seeded exception is returned by id to its own tenant and to a tenant-less lookup."""
    record = exception()
    run(store.seed([record], replace=False))
    assert run(store.get_exception("acme", record.id)) == record
    assert run(store.get_exception(None, record.id)) == record


def test_unknown_exception_is_none(store: Store, run: Run) -> None:
    """An id that was never stored is None, not an error."""
    assert run(store.get_exception("acme", str(uuid.uuid4()))) is None


def test_exception_is_hidden_from_other_tenants(store: Store, run: Run) -> None:
    """Another tenant's lookup of an exception finds nothing."""
    record = exception(tenant="acme")
    run(store.seed([record], replace=False))
    assert run(store.get_exception("globex", record.id)) is None


def test_every_field_round_trips(store: Store, run: Run) -> None:
    """All fields of a record, callbacks included, come back equal."""
    record = exception(
        status="PENDING_RESOLUTION",
        version=7,
        assignee="ops@acme.test",
        due_at="2030-01-01T00:00:00Z",
        resolution_notes='é ✓ \n quoted "notes"',
        external_system="JIRA",
        external_issue_id="REC-1",
        updated_at="2024-05-01T10:00:00Z",
        callbacks=({"status": "ASSIGNED", "nested": {"a": [1, 2.5, None, True]}},),
    )
    run(store.put_exception(record))
    assert run(store.get_exception("acme", record.id)) == record


def test_listing_returns_every_exception_or_one_tenants(store: Store, run: Run) -> None:
    """Listing without a tenant gives all exceptions, with one gives only that tenant's."""
    acme_a, acme_b, globex = exception(tenant="acme"), exception(tenant="acme"), exception(tenant="globex")
    run(store.seed([acme_a, globex, acme_b], replace=False))
    assert {r.id for r in run(store.list_exceptions(None))} == {acme_a.id, acme_b.id, globex.id}
    assert {r.id for r in run(store.list_exceptions("acme"))} == {acme_a.id, acme_b.id}
    assert run(store.list_exceptions("initech")) == []


def test_put_creates_and_overwrites_an_exception(store: Store, run: Run) -> None:
    """`put_exception` stores a new record and replaces an existing one with the same id."""
    record = exception()
    run(store.put_exception(record))
    changed = assign(record)
    run(store.put_exception(changed))
    assert run(store.get_exception("acme", record.id)) == changed
    assert run(store.list_exceptions("acme")) == [changed]


def test_seed_without_replace_keeps_existing_records(store: Store, run: Run) -> None:
    """Seeding again adds the absent records and leaves the present ones as they are."""
    kept = exception()
    run(store.seed([kept], replace=False))
    added = exception()
    run(store.seed([assign(kept), added], replace=False))
    assert run(store.get_exception("acme", kept.id)) == kept
    assert run(store.get_exception("acme", added.id)) == added


def test_seed_with_replace_drops_all_state(store: Store, run: Run) -> None:
    """Seeding with `replace` keeps only the new records: no old exceptions, keys, journal, hits, settings."""
    old = exception()
    run(store.seed([old], replace=False))
    run(claim_token(store))
    run(store.append_journal({"n": 1}))
    run(store.hit("acme", NOW, 60))
    run(store.set_setting("clock_offset", "3600"))
    new = exception()
    run(store.seed([new], replace=True))
    assert run(store.list_exceptions(None)) == [new]
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW, TTL)), Claimed)
    assert run(store.journal(10)) == []
    assert run(store.hit("acme", NOW, 60)) == 1
    assert run(store.get_setting("clock_offset")) is None


# Claims


def test_claiming_a_free_key_claims_it(store: Store, run: Run) -> None:
    """The first claim of a key owns it, with a token."""
    outcome = run(store.claim(KEY, FINGERPRINT, NOW, TTL))
    assert isinstance(outcome, Claimed)
    assert outcome.token


def test_claiming_a_held_key_reports_it_in_flight(store: Store, run: Run) -> None:
    """A second claim while the first holds the key reports the seconds the first may still take."""
    run(claim_token(store))
    assert run(store.claim(KEY, FINGERPRINT, NOW + 10, TTL)) == InFlight(retry_after=TTL - 10)


def test_claims_of_different_keys_are_independent(store: Store, run: Run) -> None:
    """Holding one key does not hold another."""
    run(claim_token(store))
    assert isinstance(run(store.claim("acme:key-2", FINGERPRINT, NOW, TTL)), Claimed)


def test_completed_key_replays_its_response(store: Store, run: Run) -> None:
    """After `complete`, a claim replays the stored status, content type, bytes and fingerprint."""
    token = run(claim_token(store))
    assert run(store.complete(completion(token))) is True
    assert run(store.claim(KEY, "sha256:other", NOW + 1, TTL)) == Replay(RESPONSE, FINGERPRINT)


def test_released_key_can_be_claimed_again(store: Store, run: Run) -> None:
    """A released key is free at once."""
    token = run(claim_token(store))
    run(store.release(KEY, token))
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + 1, TTL)), Claimed)


def test_complete_with_a_wrong_token_is_refused(store: Store, run: Run) -> None:
    """`complete` with a token that does not hold the key returns False and stores nothing."""
    run(claim_token(store))
    assert run(store.complete(completion("not-the-token"))) is False
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + 1, TTL)), InFlight)


def test_complete_of_a_taken_over_claim_is_refused(store: Store, run: Run) -> None:
    """Once an expired claim has been taken over, its old token can no longer complete the key."""
    stale = run(claim_token(store))
    run(claim_token(store, now=NOW + TTL))
    assert run(store.complete(completion(stale))) is False
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + TTL + 1, TTL)), InFlight)


def test_release_with_a_wrong_token_has_no_effect(store: Store, run: Run) -> None:
    """`release` with a token that does not hold the key leaves it held."""
    run(claim_token(store))
    run(store.release(KEY, "not-the-token"))
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + 1, TTL)), InFlight)


def test_release_of_a_completed_key_has_no_effect(store: Store, run: Run) -> None:
    """A completed key keeps its response even when its former holder releases it."""
    token = run(claim_token(store))
    run(store.complete(completion(token)))
    run(store.release(KEY, token))
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + 1, TTL)), Replay)


def test_in_flight_claim_expires_after_its_ttl(store: Store, run: Run) -> None:
    """A claim holds its key until `now + in_flight_ttl`, and from then on the key is free."""
    run(claim_token(store))
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + TTL - 0.001, TTL)), InFlight)
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + TTL, TTL)), Claimed)


def test_completed_key_expires_at_its_completion_expiry(store: Store, run: Run) -> None:
    """A completed key replays until the completion's `expires_at`, and from then on it is free."""
    token = run(claim_token(store))
    run(store.complete(completion(token, expires_at=NOW + 3600)))
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + 3599.999, TTL)), Replay)
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + 3600, TTL)), Claimed)


def test_concurrent_claims_of_one_key_have_one_winner(store: Store, run: Run) -> None:
    """Of 50 simultaneous claims of one key, exactly one owns it and the others see it in flight."""

    async def claim_all() -> list[Any]:
        return await asyncio.gather(*(store.claim(KEY, FINGERPRINT, NOW, TTL) for _ in range(50)))

    outcomes = run(claim_all())
    assert sum(isinstance(o, Claimed) for o in outcomes) == 1
    assert sum(isinstance(o, InFlight) for o in outcomes) == 49


def test_idempotency_records_show_live_keys_without_tokens(store: Store, run: Run) -> None:
    """The inspector sees live keys with state, fingerprint, times and status, never a token or a dead key."""
    token = run(claim_token(store))
    run(store.complete(completion(token, expires_at=NOW + 3600)))
    run(store.claim("acme:held", "sha256:bbbb", NOW + 1, TTL))
    run(store.claim("acme:expired", "sha256:cccc", NOW - 100, TTL))
    records = run(store.idempotency_records(NOW + 2))
    assert records == [
        {
            "scopeKey": KEY,
            "state": "complete",
            "fingerprint": FINGERPRINT,
            "createdAt": NOW,
            "expiresAt": NOW + 3600,
            "status": 200,
        },
        {
            "scopeKey": "acme:held",
            "state": "in_flight",
            "fingerprint": "sha256:bbbb",
            "createdAt": NOW + 1,
            "expiresAt": NOW + 1 + TTL,
            "status": None,
        },
    ]
    assert token not in repr(records)


# Apply


def test_apply_changes_the_exception(store: Store, run: Run) -> None:
    """`apply` stores and returns what the transition makes of the record."""
    record = exception()
    run(store.seed([record], replace=False))
    updated = run(store.apply("acme", record.id, assign, None))
    assert updated == assign(record)
    assert run(store.get_exception("acme", record.id)) == updated


def test_apply_with_completion_stores_the_response(store: Store, run: Run) -> None:
    """`apply` with a completion changes the exception and completes the key in the same step."""
    record = exception()
    run(store.seed([record], replace=False))
    token = run(claim_token(store))
    run(store.apply("acme", record.id, assign, completion(token)))
    assert run(store.get_exception("acme", record.id)) == assign(record)
    assert run(store.claim(KEY, FINGERPRINT, NOW + 1, TTL)) == Replay(RESPONSE, FINGERPRINT)


def test_apply_changes_nothing_when_the_transition_refuses(store: Store, run: Run) -> None:
    """A transition that raises leaves the exception as it was and the key still in flight."""
    record = exception()
    run(store.seed([record], replace=False))
    token = run(claim_token(store))
    with pytest.raises(Conflict, match="cannot move"):
        run(store.apply("acme", record.id, refuse, completion(token)))
    assert run(store.get_exception("acme", record.id)) == record
    assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW + 1, TTL)), InFlight)
    assert run(store.complete(completion(token))) is True


def test_apply_with_a_lost_claim_raises_claim_lost_and_changes_nothing(store: Store, run: Run) -> None:
    """When another request took the key over, `apply` with the stale token raises ClaimLost."""
    record = exception()
    run(store.seed([record], replace=False))
    stale = run(claim_token(store))
    current = run(claim_token(store, now=NOW + TTL))
    with pytest.raises(ClaimLost, match="claimed again by another request"):
        run(store.apply("acme", record.id, assign, completion(stale)))
    assert run(store.get_exception("acme", record.id)) == record, "the exception must not change"
    assert run(store.complete(completion(current))) is True, "the new claim must still hold the key"


def test_apply_to_an_unknown_exception_raises_not_found(store: Store, run: Run) -> None:
    """`apply` to an id that does not exist raises NotFound."""
    with pytest.raises(NotFound, match="exception not found"):
        run(store.apply("acme", str(uuid.uuid4()), assign, None))


def test_apply_to_another_tenants_exception_raises_not_found(store: Store, run: Run) -> None:
    """`apply` by another tenant raises NotFound and leaves the exception and the key alone."""
    record = exception(tenant="globex")
    run(store.seed([record], replace=False))
    token = run(claim_token(store))
    with pytest.raises(NotFound):
        run(store.apply("acme", record.id, assign, completion(token)))
    assert run(store.get_exception(None, record.id)) == record
    assert run(store.complete(completion(token))) is True


def test_concurrent_applies_all_take_effect(store: Store, run: Run) -> None:
    """Twenty simultaneous applies to one exception each see the previous one's result."""
    record = exception()
    run(store.seed([record], replace=False))

    async def apply_all() -> None:
        await asyncio.gather(*(store.apply("acme", record.id, assign, None) for _ in range(20)))

    run(apply_all())
    stored = run(store.get_exception("acme", record.id))
    assert stored is not None
    assert stored.version == record.version + 20


def test_concurrent_applies_with_one_claim_apply_once(store: Store, run: Run) -> None:
    """Of ten simultaneous applies completing the same claim, one applies and nine raise ClaimLost."""
    record = exception()
    run(store.seed([record], replace=False))
    token = run(claim_token(store))

    async def apply_all() -> list[Any]:
        attempts = (store.apply("acme", record.id, assign, completion(token)) for _ in range(10))
        return await asyncio.gather(*attempts, return_exceptions=True)

    outcomes = run(apply_all())
    assert sum(isinstance(o, ExceptionRecord) for o in outcomes) == 1
    assert sum(isinstance(o, ClaimLost) for o in outcomes) == 9
    assert run(store.get_exception("acme", record.id)) == assign(record)


# Journal, counters, settings


def test_journal_returns_the_newest_entries_oldest_first(store: Store, run: Run) -> None:
    """`journal(limit)` is the last `limit` entries in the order they were appended."""
    for n in range(5):
        run(store.append_journal({"n": n, "path": "/v1/exceptions/x/callback"}))
    assert run(store.journal(3)) == [{"n": n, "path": "/v1/exceptions/x/callback"} for n in (2, 3, 4)]
    assert [e["n"] for e in run(store.journal(100))] == [0, 1, 2, 3, 4]
    assert run(store.journal(0)) == []


def test_journal_keeps_at_most_journal_limit_entries(make_store: MakeStore, run: Run) -> None:
    """Past `journal_limit` entries, the oldest are dropped."""
    store = make_store(journal_limit=3)
    for n in range(7):
        run(store.append_journal({"n": n}))
    assert run(store.journal(100)) == [{"n": 4}, {"n": 5}, {"n": 6}]


def test_hits_are_counted_per_counter_and_window(store: Store, run: Run) -> None:
    """Each hit returns the count of its counter in its window so far; a new window starts from one."""
    assert [run(store.hit("acme", NOW, 60)) for _ in range(3)] == [1, 2, 3]
    assert run(store.hit("globex", NOW, 60)) == 1
    assert run(store.hit("acme", NOW + 60, 60)) == 1
    assert run(store.hit("acme", NOW, 60)) == 4


def test_hits_can_be_read_without_counting_one(store: Store, run: Run) -> None:
    """`hits` reads a window's count as `hit` left it, and a window never hit as 0."""
    assert run(store.hits("acme", NOW)) == 0
    run(store.hit("acme", NOW, 60))
    run(store.hit("acme", NOW, 60))
    assert [run(store.hits("acme", NOW)) for _ in range(2)] == [2, 2]
    assert run(store.hits("acme", NOW + 60)) == 0
    assert run(store.hit("acme", NOW, 60)) == 3


def test_a_fault_rules_firings_outlive_the_windows_of_other_counters(store: Store, run: Run) -> None:
    """A rule's `times` are counted for as long as it lives: rate-limit windows passing by do not reset them."""
    run(store.hit(firings("rule-1"), *FIRING_WINDOW))
    run(store.hit("rate:acme:JIRA", NOW, 60))
    run(store.hit("rate:acme:JIRA", NOW + 7 * 86_400, 60))  # a week later: old windows are collected
    assert run(store.hits(firings("rule-1"), FIRING_WINDOW[0])) == 1


def test_settings_can_be_set_read_and_cleared(store: Store, run: Run) -> None:
    """A setting reads back what was last set, and None once cleared or never set."""
    assert run(store.get_setting("clock_offset")) is None
    run(store.set_setting("clock_offset", "3600"))
    run(store.set_setting("clock_offset", "-60"))
    assert run(store.get_setting("clock_offset")) == "-60"
    run(store.set_setting("clock_offset", None))
    run(store.set_setting("never_set", None))
    assert run(store.get_setting("clock_offset")) is None


def test_all_settings_come_back_in_one_snapshot(store: Store, run: Run) -> None:
    """`settings()` holds every setting set, and none cleared."""
    assert run(store.settings()) == {}
    run(store.set_setting("clock_offset", "301"))
    run(store.set_setting("fault_rules", "[]"))
    run(store.set_setting("fault_rules", None))
    assert run(store.settings()) == {"clock_offset": "301"}


def test_ping_succeeds_when_the_store_is_reachable(store: Store, run: Run) -> None:
    """`ping` returns quietly on a working store."""
    run(store.ping())


# SQLite: a file shared by processes


def test_sqlite_state_survives_reopening_the_file(tmp_path: Path, run: Run) -> None:
    """Everything a closed store wrote is there when the file is opened again."""
    path = str(tmp_path / "store.sqlite3")
    record = exception()
    first = SQLiteStore(path)
    try:
        run(first.seed([record], replace=False))
        run(first.apply("acme", record.id, assign, completion(run(claim_token(first)))))
        run(first.append_journal({"n": 1}))
        run(first.hit("acme", NOW, 60))
        run(first.set_setting("clock_offset", "3600"))
    finally:
        run(first.close())
    second = SQLiteStore(path)
    try:
        assert run(second.get_exception("acme", record.id)) == assign(record)
        assert run(second.claim(KEY, FINGERPRINT, NOW + 1, TTL)) == Replay(RESPONSE, FINGERPRINT)
        assert run(second.journal(10)) == [{"n": 1}]
        assert run(second.hit("acme", NOW, 60)) == 2
        assert run(second.get_setting("clock_offset")) == "3600"
    finally:
        run(second.close())


def _claim_keys_in_process(path: str, keys: list[str], start: Barrier, results: Queue[list[str]]) -> None:
    store = SQLiteStore(path)
    try:
        start.wait()
        results.put([type(asyncio.run(store.claim(key, FINGERPRINT, NOW, TTL))).__name__ for key in keys])
    except BaseException as error:
        # Report instead of leaving the parent waiting for a result that never comes.
        results.put([f"{error!r} caused by {error.__cause__!r}"])
        raise
    finally:
        asyncio.run(store.close())


@pytest.mark.slow
def test_sqlite_claims_from_several_processes_have_one_winner(tmp_path: Path) -> None:
    """Four processes claiming the same keys on one fresh file: each key is claimed by exactly one of them."""
    context = multiprocessing.get_context("spawn")
    path, keys, workers = str(tmp_path / "store.sqlite3"), [f"acme:key-{n}" for n in range(25)], 4
    start = context.Barrier(workers)
    results: Queue[list[str]] = context.Queue()
    processes = [
        context.Process(target=_claim_keys_in_process, args=(path, keys, start, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        process.close()
    results.close()
    results.join_thread()
    assert all(len(o) == len(keys) for o in outcomes), outcomes
    for index, _key in enumerate(keys):
        assert sorted(o[index] for o in outcomes) == ["Claimed", "InFlight", "InFlight", "InFlight"]


def test_sqlite_opening_a_file_being_created_elsewhere_waits_for_it(tmp_path: Path, run: Run) -> None:
    """A store opening a new file while another process holds its write lock waits rather than failing."""
    path = str(tmp_path / "store.sqlite3")
    creator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    store = SQLiteStore(path)
    try:
        creator.execute("BEGIN IMMEDIATE")
        creator.execute("CREATE TABLE created_elsewhere (x)")
        commit_soon = threading.Timer(0.2, creator.execute, args=("COMMIT",))
        commit_soon.start()
        run(store.ping())
        commit_soon.join()
    finally:
        creator.close()
        run(store.close())


def _complete_then_get_killed(path: str) -> None:
    async def complete() -> None:
        store = SQLiteStore(path)
        token = await claim_token(store)
        await store.complete(completion(token))
        # No close(): the process dies with the connection open and the WAL not checkpointed.

    asyncio.run(complete())
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
def test_sqlite_completion_survives_the_process_being_killed(tmp_path: Path, run: Run) -> None:
    """A response stored by a process that is then SIGKILLed is replayed by the next process."""
    path = str(tmp_path / "store.sqlite3")
    process = multiprocessing.get_context("spawn").Process(target=_complete_then_get_killed, args=(path,))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == -signal.SIGKILL
    process.close()
    store = SQLiteStore(path)
    try:
        assert run(store.claim(KEY, FINGERPRINT, NOW + 1, TTL)) == Replay(RESPONSE, FINGERPRINT)
    finally:
        run(store.close())


def test_sqlite_in_a_missing_directory_is_unavailable_until_it_exists(tmp_path: Path, run: Run) -> None:
    """A file in a directory that does not exist gives StoreUnavailable, and works once the directory does."""
    directory = tmp_path / "not-yet"
    store = SQLiteStore(str(directory / "store.sqlite3"))
    try:
        with pytest.raises(StoreUnavailable):
            run(store.claim(KEY, FINGERPRINT, NOW, TTL))
        with pytest.raises(StoreUnavailable):
            run(store.ping())
        directory.mkdir()
        assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW, TTL)), Claimed)
    finally:
        run(store.close())


def test_sqlite_path_that_is_a_directory_is_unavailable_until_removed(tmp_path: Path, run: Run) -> None:
    """A path that names a directory gives StoreUnavailable, and works once it can be a file."""
    path = tmp_path / "store.sqlite3"
    path.mkdir()
    store = SQLiteStore(str(path))
    try:
        with pytest.raises(StoreUnavailable):
            run(store.set_setting("clock_offset", "1"))
        path.rmdir()
        run(store.set_setting("clock_offset", "1"))
        assert run(store.get_setting("clock_offset")) == "1"
    finally:
        run(store.close())


def test_sqlite_lock_held_past_busy_timeout_is_unavailable_until_freed(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another connection holds the write lock past the busy timeout, calls give StoreUnavailable."""
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_SECONDS", 0.1)
    path = str(tmp_path / "store.sqlite3")
    store = SQLiteStore(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        run(store.ping())
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable):
            run(store.claim(KEY, FINGERPRINT, NOW, TTL))
        blocker.execute("ROLLBACK")
        assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW, TTL)), Claimed)
    finally:
        blocker.close()
        run(store.close())


# Redis: a server shared by replicas, which can go away


@pytest.mark.redis
def test_redis_claims_from_several_clients_have_one_winner(redis_url: str, redis_namespace: str, run: Run) -> None:
    """Five stores on one namespace (five replicas) claiming one key 50 times: exactly one claim wins."""
    stores = [RedisStore(redis_url, namespace=redis_namespace) for _ in range(5)]

    async def claim_all() -> list[Any]:
        return await asyncio.gather(*(s.claim(KEY, FINGERPRINT, NOW, TTL) for s in stores for _ in range(10)))

    try:
        outcomes = run(claim_all())
    finally:
        for store in stores:
            run(store.close())
    assert sum(isinstance(o, Claimed) for o in outcomes) == 1


@pytest.mark.redis
def test_redis_seed_with_replace_leaves_other_namespaces_alone(redis_url: str, redis_namespace: str, run: Run) -> None:
    """Resetting one namespace deletes nothing of another on the same server."""
    mine = RedisStore(redis_url, namespace=redis_namespace)
    theirs = RedisStore(redis_url, namespace=f"{redis_namespace}-other")
    record = exception()
    try:
        run(theirs.seed([record], replace=False))
        run(theirs.set_setting("clock_offset", "5"))
        run(mine.seed([], replace=True))
        assert run(theirs.get_exception("acme", record.id)) == record
        assert run(theirs.get_setting("clock_offset")) == "5"
    finally:
        run(theirs.close())
        run(mine.close())
        run(delete_namespace(redis_url, f"{redis_namespace}-other"))


@pytest.mark.redis
def test_redis_expiry_never_comes_before_the_logical_one(redis_url: str, redis_namespace: str, run: Run) -> None:
    """Redis's own TTL on a key (garbage collection) outlasts the claim's and the completion's lifetime."""
    store = RedisStore(redis_url, namespace=redis_namespace)
    client = Redis.from_url(redis_url)

    async def redis_ttl() -> int:
        return await client.ttl(f"{redis_namespace}:idem:{KEY}")

    try:
        token = run(claim_token(store))
        assert run(redis_ttl()) > TTL
        run(store.complete(completion(token, expires_at=NOW + 7 * 86_400)))
        assert run(redis_ttl()) > 7 * 86_400
    finally:
        run(client.aclose())
        run(store.close())


@pytest.mark.redis
def test_redis_that_nothing_answers_is_unavailable_at_once(run: Run) -> None:
    """A store pointing at a port where nothing listens gives StoreUnavailable within seconds."""
    store = RedisStore("redis://127.0.0.1:1/0", namespace="unreachable")
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable):
            run(store.ping())
        with pytest.raises(StoreUnavailable):
            run(store.claim(KEY, FINGERPRINT, NOW, TTL))
    finally:
        run(store.close())
    assert time.monotonic() - started < 3.0


class _Outage:
    """A TCP relay in front of Redis that can be cut and restored on the same port, as if Redis went away."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            self._writers.clear()
            await self._server.wait_closed()
            self._server = None

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._writers.append(client_writer)
        try:
            redis_reader, redis_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            return
        self._writers.append(redis_writer)
        await asyncio.gather(
            _pump(client_reader, redis_writer), _pump(redis_reader, client_writer), return_exceptions=True
        )


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65_536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


@pytest.mark.redis
def test_redis_store_recovers_once_redis_is_back(redis_url: str, redis_namespace: str, run: Run) -> None:
    """While Redis is unreachable calls give StoreUnavailable; once it is back the same store works again."""
    outage = _Outage(("127.0.0.1", 6379))
    run(outage.up())
    store = RedisStore(f"redis://127.0.0.1:{outage.port}/0", namespace=redis_namespace)
    try:
        run(store.set_setting("clock_offset", "7"))
        run(outage.down())
        with pytest.raises(StoreUnavailable):
            run(store.get_setting("clock_offset"))
        with pytest.raises(StoreUnavailable):
            run(store.claim(KEY, FINGERPRINT, NOW, TTL))
        run(outage.up())
        assert run(store.get_setting("clock_offset")) == "7"
        assert isinstance(run(store.claim(KEY, FINGERPRINT, NOW, TTL)), Claimed)
    finally:
        run(store.close())
        run(outage.down())
