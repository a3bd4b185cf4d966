"""A real redis-server for the tests: the one answering on 127.0.0.1:6379, or one started there."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import NoReturn

import pytest

HOST = "127.0.0.1"
PORT = 6379
URL = f"redis://{HOST}:{PORT}/0"
START_TIMEOUT_SECONDS = 10.0
# A throwaway server: in the background, local only, nothing written to disk.
SERVER_OPTIONS = ("--daemonize", "yes", "--bind", HOST, "--port", str(PORT), "--save", "", "--appendonly", "no")


def ensure_redis() -> str:
    """The URL of a Redis on 127.0.0.1:6379, starting `redis-server` if none answers.

    Without one, the calling test is skipped, or failed when `CI=true` (CI must not skip silently).
    """
    if _answers_ping():
        return URL
    server = shutil.which("redis-server")
    if server is None:
        _give_up(f"no redis-server answering on {HOST}:{PORT} and none installed (no redis-server on PATH)")
    started = subprocess.run(
        [server, *SERVER_OPTIONS],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if _answers_ping():
            return URL
        time.sleep(0.1)
    _give_up(
        f"no redis-server answering on {HOST}:{PORT}, and {server} did not start one within "
        f"{START_TIMEOUT_SECONDS:.0f} s (exit status {started.returncode}: {started.stderr.strip()!r})"
    )


def _answers_ping() -> bool:
    """True when something on HOST:PORT answers an inline PING with +PONG."""
    try:
        with socket.create_connection((HOST, PORT), timeout=1.0) as sock:
            sock.settimeout(1.0)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _give_up(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
