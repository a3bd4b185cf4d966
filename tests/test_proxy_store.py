"""The proxy's state kept apart from a mock's: its own Redis namespace, and a mock's SQLite file refused."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from callback_kit.mock_server.proxy import ProxySettings, create_proxy_app
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.mock_server.stores import open_store
from callback_kit.resources import fixtures_dir
from tests.broken_servers import serving
from tests.cli_support import kit, one_line
from tests.proxy_support import ADMIN

REDIS = "redis://127.0.0.1:6379/12"  # a database of its own for tests, never 0


@pytest.fixture
def shared_redis() -> Iterator[str]:
    """Database 12, flushed before and after (skipped without a Redis on 127.0.0.1:6379)."""
    client = redis.Redis.from_url(REDIS)
    try:
        client.flushdb()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield REDIS
    client.flushdb()
    client.close()


def seed_like_a_mock(url: str) -> None:
    """Put in the store at `url` what a mock started on it holds: the fixtures' exceptions and a journal entry."""

    async def seed() -> None:
        store = open_store(url)
        try:
            await store.seed(load_exceptions(fixtures_dir()), replace=True)
            await store.append_journal({"requestId": "mock-entry"})
        finally:
            await store.close()

    asyncio.run(seed())


def test_a_proxy_on_a_mocks_redis_database_neither_sees_nor_resets_the_mocks_state(shared_redis: str) -> None:
    """Same database, default namespaces: the proxy's journal is its own, and its reset leaves the mock's
    exceptions in place."""
    seed_like_a_mock(shared_redis)
    settings = dataclasses.replace(ProxySettings(upstream="http://127.0.0.1:9"), store_url=shared_redis)
    with serving(create_proxy_app(settings)) as url, httpx.Client(base_url=url) as proxy:
        assert proxy.get("/_mock/journal", headers=ADMIN).json() == []
        assert proxy.post("/_mock/reset", headers=ADMIN).status_code == 200

    async def left() -> tuple[int, int]:
        mock_store = open_store(shared_redis)
        try:
            return len(await mock_store.list_exceptions(None)), len(await mock_store.journal(10))
        finally:
            await mock_store.close()

    exceptions, journal = asyncio.run(left())
    assert (exceptions > 0, journal) == (True, 1)


def test_a_proxy_given_a_mocks_sqlite_file_is_refused_in_one_line(tmp_path: Path) -> None:
    """A SQLite file that holds a mock's exceptions: one line naming the file, exit 2, nothing served."""
    path = tmp_path / "mock.sqlite3"
    seed_like_a_mock(f"sqlite://{path}")
    store = f"sqlite://{path}"
    line = one_line(kit("proxy", "--upstream", "http://127.0.0.1:1", "--port", "0", "--store", store, cwd=tmp_path))
    assert line.startswith("callback-kit proxy: the store sqlite://")
    assert "holds a mock's state" in line
