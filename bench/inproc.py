"""The mock driven in-process, without a server or a socket: CPU time per request of the app alone.

`Driver` builds the app exactly as `mock_server/asgi.py` does (`create_app` wrapped in `DropConnectionMiddleware`),
runs its lifespan, then calls it with uvicorn-shaped ASGI scopes. `time.process_time()` counts only this
process's CPU, so other work on the machine disturbs it far less than it disturbs wrk's requests/s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

from bench.servers import ID_PREFIX, TOKEN

BODY = (Path(__file__).resolve().parent / "lua" / "callback.json").read_bytes()
INVALID = (Path(__file__).resolve().parent / "lua" / "invalid.json").read_bytes()


def build(
    store_url: str, fixtures: Path, *, auth: bool | None = None, wrap: Callable[[Any, Any], ASGIApp] | None = None
) -> ASGIApp:
    """The app as `mock_server/asgi.py` builds it; `wrap(app, settings)` may put something between (bench variants)."""
    import callback_kit.mock_server.quiet  # noqa: F401  (as callback_kit.mock_server.asgi does, before Connexion is imported)
    from callback_kit.mock_server.app import create_app
    from callback_kit.mock_server.middleware.drop_connection import DropConnectionMiddleware
    from callback_kit.mock_server.settings import Settings

    settings = Settings(store_url=store_url, fixtures_path=fixtures, auth=auth)
    app = create_app(settings)
    return DropConnectionMiddleware(wrap(app, settings) if wrap else app)


class Driver:
    """Calls an ASGI app in-process, one request at a time, as uvicorn would."""

    def __init__(self, app: ASGIApp, exceptions: int = 1000) -> None:
        self.app = app
        self.exceptions = exceptions
        self.count = 0
        self.statuses: dict[int, int] = {}
        self._lifespan: asyncio.Task[None] | None = None
        self._lifespan_in: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[Message] = asyncio.Queue()
        self.state: dict[str, Any] = {}

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._lifespan = asyncio.create_task(self.app(scope, self._lifespan_in.get, self._lifespan_out.put))
        await self._lifespan_in.put({"type": "lifespan.startup"})
        message = await self._lifespan_out.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {message}")

    async def prefill_journal(self, n: int) -> None:
        """Fill the store's journal to `n` entries of a callback's size, as after `n` requests (its steady state)."""
        if n <= 0:
            return
        inner = self.app.app  # type: ignore[attr-defined]
        store = getattr(inner, "fallback", inner).services["store"]
        entry = {
            "at": "2026-11-28T09:15:00.000Z",
            "requestId": str(uuid.uuid4()),
            "tenant": "t",
            "principal": "p",
            "method": "POST",
            "path": f"/v1/exceptions/{ID_PREFIX}000000000000/callback",
            "idempotencyKey": "k",
            "body": BODY.decode(),
            "fingerprint": "0" * 64,
            "status": 200,
            "claimed": True,
            "latencyMs": 1.0,
        }
        text = json.dumps(entry, separators=(",", ":"))
        kind = type(store).__name__
        # Bulk writes through each backend's internals (bench only): n appends one by one would take minutes.
        if kind == "MemoryStore":
            store._journal.extend(dict(entry) for _ in range(n))
        elif kind == "SQLiteStore":
            with store._transaction() as db:
                db.executemany("INSERT INTO journal (entry) VALUES (?)", [(text,)] * n)
        elif kind == "RedisStore":
            key = store._key("journal")
            for start in range(0, n, 1000):
                await store._redis.rpush(key, *[text] * min(1000, n - start))

    async def stop(self) -> None:
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        await self._lifespan_out.get()
        if self._lifespan is not None:
            await self._lifespan

    def request(self, path: str) -> tuple[str, bytes, bytes | None]:
        """(URL path, body, idempotency key) of the next request of a bench path."""
        self.count += 1
        if path == "first":
            exception = f"{ID_PREFIX}{(self.count * 7) % self.exceptions:012d}"
            return exception, BODY, f"inproc:{uuid.uuid4().hex}".encode()
        if path == "hot":  # first processing, every request to one exception (its history full after 100)
            return f"{ID_PREFIX}{0:012d}", BODY, f"inproc:{uuid.uuid4().hex}".encode()
        if path == "replay":
            return f"{ID_PREFIX}{0:012d}", BODY, b"inproc-replay"
        return f"{ID_PREFIX}{0:012d}", INVALID, None

    async def call(self, exception: str, body: bytes, key: bytes | None) -> int:
        path = f"/v1/exceptions/{exception}/callback"
        headers = [
            (b"host", b"127.0.0.1:8080"),
            (b"user-agent", b"wrk"),
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if key is not None:
            headers.append((b"x-idempotency-key", key))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8080),
            "client": ("127.0.0.1", 40000),
            "scheme": "http",
            "method": "POST",
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": headers,
            "state": dict(self.state),
        }
        sent = False
        status = 0

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return status

    async def run(self, path: str, n: int) -> None:
        for _ in range(n):
            await self.call(*self.request(path))


def cpu_per_request(
    driver: Driver,
    path: str,
    *,
    n: int,
    warmup: int,
    rounds: int,
    journal: int = 0,
    between: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """CPU microseconds per request, each round timed separately; the median and the minimum of the rounds."""

    async def measure() -> list[float]:
        await driver.start()
        await driver.prefill_journal(journal)
        if path == "replay":
            await driver.call(*driver.request("replay"))
        await driver.run(path, warmup)
        samples = []
        for _ in range(rounds):
            if between is not None:
                between()
            started = time.process_time()
            await driver.run(path, n)
            samples.append((time.process_time() - started) / n * 1e6)
        await driver.stop()
        return samples

    samples = _loop_run(measure())
    return {
        "median_us": round(statistics.median(samples), 1),
        "min_us": round(min(samples), 1),
        "samples_us": [round(s, 1) for s in samples],
        "statuses": dict(sorted(driver.statuses.items())),
    }


def _loop_run(coroutine: Any) -> Any:
    # The servers run on uvloop (uvicorn's default when installed): measure on it too.
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)
