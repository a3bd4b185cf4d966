"""A live mock for tests that need real processes: `callback-kit serve` in its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ADMIN = {"Authorization": "Bearer kit-admin-token"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveMock:
    """A running `callback-kit serve`; `kill()` sends SIGKILL to every worker at once."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_mock(
    store: str, tmp: Path, *, workers: int = 1, port: int | None = None, extra: tuple[str, ...] = ()
) -> LiveMock:
    """Start the mock and wait until it answers (at most 30 s)."""
    port = port or free_port()
    log = tmp / f"mock-{port}-{time.monotonic_ns()}.log"
    command = [
        sys.executable,
        "-m",
        "callback_kit.mock_server",
        "--port",
        str(port),
        "--store",
        store,
        "--workers",
        str(workers),
        *extra,
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    mock = LiveMock(process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mock exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{mock.url}/_mock/clock", headers=ADMIN, timeout=1).status_code == 200:
                return mock
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    mock.stop()
    raise RuntimeError(f"mock did not answer within 30 s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def running_mock(store: str, tmp: Path, **options: object) -> Iterator[LiveMock]:
    mock = start_mock(store, tmp, **options)  # type: ignore[arg-type]
    try:
        yield mock
    finally:
        mock.stop()
