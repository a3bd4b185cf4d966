"""Idempotency that holds under concurrency, crashes and many workers, on the real SQLite file and real Redis.

Each test starts `callback-kit serve` as real processes (uvicorn workers) and drives it over loopback.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import ADMIN, free_port, running_mock, start_mock

TOKEN = {"Authorization": "Bearer acme-integration-token"}
RESOLVE = {"externalSystem": "JIRA", "externalIssueId": "RECON-1", "status": "RESOLVED"}
pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store URL: a new SQLite file, or a new namespace on the real Redis."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mock.sqlite3'}"
        return
    base = request.getfixturevalue("redis_url")
    namespace = f"test-{uuid.uuid4().hex[:12]}"
    yield f"{base}?namespace={namespace}"
    import redis

    client = redis.Redis.from_url(base)
    keys = list(client.scan_iter(f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def create_open(base: str, count: int) -> list[str]:
    """Provision `count` OPEN exceptions of tenant acme through the admin API."""
    with httpx.Client(base_url=base, headers=ADMIN, timeout=10) as http:
        ids = []
        for _ in range(count):
            answer = http.post("/_mock/exceptions", json={"status": "OPEN", "ownerToken": "acme-integration-token"})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        return ids


def exception(base: str, exception_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/_mock/exceptions/{exception_id}", headers=ADMIN, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


class Progress:
    """Counts answers; `reached` completes once `threshold` answers have arrived."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.count = 0
        self.reached: asyncio.Future[None] | None = None

    def answered(self) -> None:
        self.count += 1
        if self.reached is not None and self.count >= self.threshold and not self.reached.done():
            self.reached.set_result(None)


async def post_all(
    base: str,
    requests: list[tuple[str, str]],
    *,
    client_timeout: float = 20,
    progress: Progress | None = None,
    held: frozenset[str] = frozenset(),
) -> list[httpx.Response | None]:
    """Send (exception id, key) callbacks at once; None where the connection broke without an answer.

    The keys in `held` ask the mock to hold their request in flight for 30 s (its slow-processing fault).
    """
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, headers=TOKEN, timeout=client_timeout, limits=limits) as http:

        async def one(exception_id: str, key: str) -> httpx.Response | None:
            try:
                headers = {"X-Idempotency-Key": key}
                if key in held:
                    headers["X-Mock-Fault"] = "slow-processing=30000"
                answer = await http.post(f"/v1/exceptions/{exception_id}/callback", json=RESOLVE, headers=headers)
            except httpx.TransportError:
                return None
            if progress is not None:
                progress.answered()
            return answer

        return list(await asyncio.gather(*(one(e, k) for e, k in requests)))


def test_one_key_raced_over_four_workers_is_applied_once(store_url: str, tmp_path: Path) -> None:
    """100 concurrent requests with one key over 4 workers: one processing, the rest replays or 409s."""
    with running_mock(store_url, tmp_path, workers=4) as mock:
        (target,) = create_open(mock.url, 1)
        key = str(uuid.uuid4())
        answers = asyncio.run(post_all(mock.url, [(target, key)] * 100))
        assert all(a is not None for a in answers)
        kinds = collections.Counter(
            (a.status_code, a.headers.get("X-Idempotency-Replayed")) for a in answers if a is not None
        )
        assert kinds[(200, "false")] == 1, kinds
        assert set(kinds) <= {(200, "false"), (200, "true"), (409, None)}, kinds
        first = next(a for a in answers if a is not None and a.headers.get("X-Idempotency-Replayed") == "false")
        for answer in answers:
            assert answer is not None
            if answer.status_code == 200:
                assert answer.content == first.content
            else:
                assert answer.json()["code"] == "MTCH-0018"
                assert int(answer.headers["Retry-After"]) >= 0
        record = exception(mock.url, target)
        assert (record["status"], record["version"], len(record["callbacks"])) == ("RESOLVED", 2, 1)


def test_a_sigkill_under_load_loses_no_answered_callback(store_url: str, tmp_path: Path) -> None:
    """Killed mid-load and restarted on the same store: every answered key replays, none is applied twice."""
    if store_url.startswith("memory"):
        pytest.skip("memory keeps nothing across a restart")
    mock = start_mock(store_url, tmp_path, workers=2)
    port = mock.port
    try:
        ids = create_open(mock.url, 120)
        keys = [str(uuid.uuid4()) for _ in ids]
        # Every fourth request is held in flight, so the kill always finds claimed keys with nothing applied.
        held = frozenset(keys[::4])

        async def load_then_kill() -> list[httpx.Response | None]:
            progress.reached = asyncio.get_running_loop().create_future()
            requests = list(zip(ids, keys, strict=True))
            sending = asyncio.create_task(post_all(mock.url, requests, client_timeout=40, progress=progress, held=held))
            await progress.reached  # a quarter of the load is answered: kill the mock mid-flight
            mock.kill()
            return await sending

        progress = Progress(threshold=len(ids) // 4)
        answers = asyncio.run(load_then_kill())
    finally:
        mock.stop()
    answered = [k for k, a in zip(keys, answers, strict=True) if a is not None and a.status_code == 200]
    assert 0 < len(answered) < len(keys), f"the kill should land mid-load ({len(answered)} of {len(keys)} answered)"
    with running_mock(store_url, tmp_path, workers=2, port=port) as restarted:
        by_key = dict(zip(keys, ids, strict=True))
        replays = asyncio.run(post_all(restarted.url, [(by_key[k], k) for k in answered]))
        assert all(r is not None and r.status_code == 200 for r in replays)
        assert {r.headers["X-Idempotency-Replayed"] for r in replays if r is not None} == {"true"}
        # Keys the crash left in flight are free again once the in-flight TTL has passed.
        httpx.put(f"{restarted.url}/_mock/clock", headers=ADMIN, json={"offsetSeconds": 301}, timeout=10)
        retries = asyncio.run(post_all(restarted.url, list(zip(ids, keys, strict=True))))
        assert all(r is not None and r.status_code == 200 for r in retries), collections.Counter(
            r.status_code if r else None for r in retries
        )
        for exception_id in ids:
            record = exception(restarted.url, exception_id)
            assert (record["status"], record["version"], len(record["callbacks"])) == ("RESOLVED", 2, 1)


@contextlib.contextmanager
def private_redis(tmp_path: Path) -> Iterator[tuple[int, Any]]:
    """A redis-server of this test's own, with an append-only file so that its data survives a restart."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed: cannot stop and restart a Redis of the test's own")
    port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    command = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        str(data),
    ]

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket_to(port) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
            time.sleep(0.05)
        process.kill()
        raise RuntimeError("private redis-server did not start")

    holder = {"process": start()}

    def restart(action: str) -> None:
        if action == "stop":
            holder["process"].terminate()
            holder["process"].wait(timeout=10)
        else:
            holder["process"] = start()

    try:
        yield port, restart
    finally:
        holder["process"].terminate()
        holder["process"].wait(timeout=10)


def socket_to(port: int) -> Any:
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=1)
    return contextlib.closing(sock)


@pytest.mark.redis
def test_redis_stopped_and_started_under_load_answers_503_then_recovers(tmp_path: Path) -> None:
    """While Redis is down callbacks get 503 with Retry-After; after it returns, all is answered and applied once."""
    with (
        private_redis(tmp_path) as (port, redis_control),
        running_mock(f"redis://127.0.0.1:{port}/0", tmp_path, workers=2) as mock,
    ):
        ids = create_open(mock.url, 40)
        keys = [str(uuid.uuid4()) for _ in ids]
        before = asyncio.run(post_all(mock.url, list(zip(ids[:20], keys[:20], strict=True))))
        assert {a.status_code for a in before if a is not None} == {200}
        redis_control("stop")
        down = asyncio.run(post_all(mock.url, list(zip(ids[20:], keys[20:], strict=True))))
        assert all(a is not None and a.status_code == 503 for a in down), [a and a.status_code for a in down]
        assert all(a is not None and a.json()["code"] == "MTCH-0020" and a.headers["Retry-After"] for a in down)
        redis_control("start")
        after = asyncio.run(post_all(mock.url, list(zip(ids, keys, strict=True))))
        assert all(a is not None and a.status_code == 200 for a in after), [a and a.status_code for a in after]
        replayed = [a.headers["X-Idempotency-Replayed"] for a in after if a is not None]
        assert replayed == ["true"] * 20 + ["false"] * 20
        for exception_id in ids:
            record = exception(mock.url, exception_id)
            assert (record["version"], len(record["callbacks"])) == (2, 1)
