"""`GET /_mock/health` (`AdminApi.get_health`): 200 while the store answers, 503 with `Retry-After` while it
does not; no token, no journal entry, with every store."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from callback_kit.mock_server.errors import StoreUnavailable
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.stores.memory import MemoryStore
from tests.live import free_port
from tests.mock_client import ACME_OPEN, ADMIN_TOKEN, Mock, assert_error, body

HEALTH = "/_mock/health"


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL of each backend: a new SQLite file, or a namespace of this test's own on the real Redis."""
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'health.sqlite3'}"
    else:
        base: str = request.getfixturevalue("redis_url")
        namespace = f"test-health-{uuid.uuid4().hex[:12]}"
        yield f"{base}?namespace={namespace}"
        client = redis.Redis.from_url(base)
        with contextlib.closing(client):
            keys = list(client.scan_iter(f"{namespace}:*"))
            if keys:
                client.delete(*keys)


def test_health_is_ok_with_every_store(store_url: str) -> None:
    """With the store reachable the answer is 200 `{"status": "ok"}`, not to be cached, and needs no token."""
    with Mock(Settings(store_url=store_url)) as mock:
        answer = mock.request("GET", HEALTH)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ok"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_health_ignores_a_wrong_token() -> None:
    """A token the mock does not know is not refused here: a health probe carries whatever its platform sends."""
    with Mock() as mock:
        answer = mock.request("GET", HEALTH, headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 200, answer.text


def test_health_checks_are_not_journaled() -> None:
    """Probes every few seconds would crowd the journal: only the callback is in it."""
    with Mock() as mock:
        mock.request("GET", HEALTH)
        assert mock.callback(ACME_OPEN, body("RESOLVED"), key="health-journal-1").status_code == 200
        mock.request("GET", HEALTH)
        journal = mock.request("GET", "/_mock/journal", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert [entry["path"] for entry in journal] == [f"/v1/exceptions/{ACME_OPEN}/callback"]


class UnreachableStore(MemoryStore):
    """A store that seeds, then cannot be reached (as a SQLite file on a lost volume would be)."""

    async def ping(self) -> None:
        raise StoreUnavailable()


def test_health_is_503_with_retry_after_when_the_store_is_unreachable() -> None:
    """An unreachable store gives 503 `MTCH-0020` with `Retry-After`, in the contract's error body."""
    with Mock(store=UnreachableStore()) as mock:
        answer = mock.request("GET", HEALTH)
    assert_error(answer, 503, "MTCH-0020")
    assert int(answer.headers["Retry-After"]) >= 1


@contextlib.contextmanager
def private_redis() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own on a free loopback port, keeping nothing on disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)
        yield port, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


@pytest.mark.redis
def test_health_follows_a_redis_that_goes_away() -> None:
    """200 while Redis runs, 503 with `Retry-After` once it stops: what a container's HEALTHCHECK waits on."""
    with private_redis() as (port, server), Mock(Settings(store_url=f"redis://127.0.0.1:{port}/0")) as mock:
        assert mock.request("GET", HEALTH).status_code == 200
        server.terminate()
        server.wait(timeout=10)
        answer = mock.request("GET", HEALTH)
    assert_error(answer, 503, "MTCH-0020")
    assert answer.headers["Retry-After"]
