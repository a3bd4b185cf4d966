"""The mock served by uvicorn in a thread of the test process, on a free loopback port.

A real socket, so that any HTTP client works against it and the lost answer (`lost_response`) closes a real
connection. The web framework is imported on `start()` only, inside a filter for the deprecation warnings that
the mock's dependencies raise on import: a suite run with `-W error` must not fail on the kit's imports.
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

from callback_kit.mock_server import Settings

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

STARTUP_SECONDS = 30.0
SHUTDOWN_SECONDS = 10
# At shutdown a request still in flight belongs to a test that has ended: wait this long for it, then cancel it.
GRACE_SECONDS = 1
# Raised on import by Connexion 3.3 (Starlette's TestClient, jsonschema's RefResolver); the kit ignores them too.
IMPORT_WARNINGS = (
    r"Using `httpx` with `starlette\.testclient` is deprecated",
    r"jsonschema\.RefResolver is deprecated",
    r"jsonschema\.exceptions\.RefResolutionError is deprecated",
)


class MockStartError(RuntimeError):
    """The mock's server did not come up (its reason is in the message)."""


class MockServer:
    """One mock app (built by `create_app(settings)`) served by uvicorn in a daemon thread until `stop()`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self.url = ""

    def start(self) -> str:
        """Build the app, serve it on 127.0.0.1 (a free port) and wait until it listens; returns its base URL."""
        import uvicorn

        server = uvicorn.Server(
            uvicorn.Config(
                _served_app(self.settings),
                host="127.0.0.1",
                port=0,
                lifespan="on",
                ws="none",
                log_config=None,  # leave the test process's logging alone; records reach pytest's capture
                log_level=self.settings.log_level,
                access_log=False,
                timeout_graceful_shutdown=GRACE_SECONDS,
            )
        )
        self._server = server
        self._thread = threading.Thread(target=self._serve, name="callback-kit-mock", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                reason = repr(self._failure) if self._failure else "see the uvicorn.error log above"
                raise MockStartError(f"the callback mock did not start: {reason}")
            time.sleep(0.005)  # readiness poll: uvicorn sets `started` once it listens
        port = server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread.name = f"callback-kit-mock {self.url}"
        return self.url

    def stop(self) -> None:
        """Stop serving: close the listening socket and the connections, run the app's shutdown, join the thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(SHUTDOWN_SECONDS)
        if self._thread.is_alive():  # a request that will not finish: stop waiting for it
            self._server.force_exit = True
            self._thread.join(SHUTDOWN_SECONDS)
        self._server = self._thread = None

    def _serve(self) -> None:
        assert self._server is not None
        try:
            self._server.run()
        except BaseException as exc:  # reported by start(): a thread must not die with a traceback
            self._failure = exc


def _served_app(settings: Settings) -> ASGIApp:
    """The app as `callback-kit serve` runs it: `create_app` wrapped so that a lost answer drops the connection."""
    with _import_quietly():
        from callback_kit.mock_server import serving_app

        return serving_app(settings)


@contextlib.contextmanager
def _import_quietly() -> Iterator[None]:
    with warnings.catch_warnings():
        for message in IMPORT_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        yield
