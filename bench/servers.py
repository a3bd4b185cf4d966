"""The servers the bench loads: the mock (`callback-kit serve`), the bare Starlette ceiling, and Stoplight Prism.

Each runs in its own process group (`start_new_session`), so `Server.stop()` reaches every uvicorn worker
with one `killpg` of the PID the bench started, and nothing else. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
PRISM_DIR = Path(__file__).resolve().parent / ".prism"
PRISM_VERSION = "5.14.2"
ADMIN = {"Authorization": "Bearer kit-admin-token"}
TOKEN = "acme-integration-token"
ACME = "7c2e1b9a-4d35-4a8f-9b61-2f0d8e3c5a10"
ID_PREFIX = "b3e00000-0000-4000-8000-"
READY_TIMEOUT_SECONDS = 60.0


class ServerFailed(RuntimeError):
    """A server exited or did not answer in time; the message ends with its log."""


@dataclass
class Server:
    """A started server: its process group leader, port and log file."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 10 s."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # A multi-worker uvicorn parent may exit before its workers: sweep what is left of the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def cpu_seconds(self) -> float:
        """User + system CPU of every live process in the server's process group (uvicorn workers included)."""
        ticks = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            # After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
            if int(fields[2]) == self.process.pid:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


def code_state() -> dict[str, object]:
    """Which mock the numbers are of: the commit, and the files of `mock_server/` changed since (read-only git)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = [line[3:] for line in git("status", "--porcelain", "--", "mock_server").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown", "mock_server_changes": changed}


def snapshot_code(folder: Path) -> Path:
    """Copy the `callback_kit` package as it is now into `folder`, to put first on the PYTHONPATH of every process.

    Others commit to `mock_server/` while a run goes on; with the copy, every configuration and variant of one
    run measures the same code (the one `code_state()` named at the start).
    """
    # Links followed: the copy holds the files of mock_server/ (and the rest of the package) themselves.
    shutil.copytree(ROOT / "callback_kit", folder / "callback_kit", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_fixtures(folder: Path, exceptions: int, tenant: str = ACME) -> Path:
    """A fixtures folder for the mock: `exceptions` OPEN exceptions of `tenant` (acme), and the kit's tokens.

    Ids are `b3e00000-0000-4000-8000-<12 digits>` from 0, so the wrk scripts can compute them.
    A callback with status OPEN on an OPEN exception is a metadata update: 200 however often it comes.
    """
    folder.mkdir(parents=True, exist_ok=True)
    records = [
        {"id": f"{ID_PREFIX}{n:012d}", "tenant": tenant, "status": "OPEN", "updated_at": "2026-11-01T09:00:00Z"}
        for n in range(exceptions)
    ]
    (folder / "exceptions.json").write_text(json.dumps({"tenants": {"bench": tenant}, "exceptions": records}))
    shutil.copyfile(ROOT / "fixtures" / "tokens.json", folder / "tokens.json")
    return folder


def start_mock(
    store: str, workers: int, fixtures: Path, logs: Path, code: Path | None = None, *, quiet: bool = False
) -> Server:
    """`callback-kit serve` (as `python -m callback_kit.mock_server`) on a free port, answering its admin API.

    With `code`, the mock is imported from that snapshot (`snapshot_code`) instead of the working tree; with
    `quiet`, without its request log (which otherwise goes, one line per request, to the server's log file).
    """
    port = free_port()
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
        "--fixtures",
        str(fixtures),
        "--log-level",
        "warning",
        *(["--quiet"] if quiet else []),
    ]
    server = _spawn(f"mock-{port}", command, port, logs, code)
    _wait(server, lambda: httpx.get(f"{server.url}/_mock/clock", headers=ADMIN, timeout=2).status_code == 200)
    return server


def start_bare(logs: Path) -> Server:
    """`bench/bare.py` under uvicorn with the mock's settings: default loop and parser, no access log."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    server = _spawn(f"bare-{port}", command, port, logs)
    _wait(server, lambda: _answers(server.url))
    return server


def prism_binary() -> Path:
    return PRISM_DIR / "node_modules" / ".bin" / "prism"


def install_prism() -> str | None:
    """Install Prism into `bench/.prism/` unless it is there; the reason when it cannot be had, else None."""
    if prism_binary().exists():
        return None
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return "Prism skipped: Node.js and npm are not installed (Prism needs them: apt-get install -y nodejs npm)"
    print(f"bench: installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR} (npm, once)", flush=True)
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(PRISM_DIR),
            "--no-audit",
            "--no-fund",
            f"@stoplight/prism-cli@{PRISM_VERSION}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not prism_binary().exists():
        return f"Prism skipped: npm install failed ({done.returncode}): {done.stderr.strip()[-300:]}"
    return None


def start_prism(logs: Path, *, quiet: bool = False) -> Server:
    """`prism mock openapi.yaml` on a free port; its per-request log goes to a file (`quiet`: warnings only)."""
    port = free_port()
    command = [str(prism_binary()), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port)]
    if quiet:
        command += ["-v", "warn"]
    server = _spawn(f"prism-{port}", command, port, logs)
    _wait(server, lambda: _answers(server.url))
    return server


def _spawn(name: str, command: list[str], port: int, logs: Path, code: Path | None = None) -> Server:
    log = logs / f"{name}.log"
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), str(ROOT), env.get("PYTHONPATH")]))
    # From the snapshot's folder: `python -m` puts the working directory first on sys.path, before PYTHONPATH.
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=code or ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Server(name, process, port, log)


def _answers(url: str) -> bool:
    httpx.get(url + "/", timeout=2)
    return True


def _wait(server: Server, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"{server.name} exited with {server.process.returncode}:\n{server.tail()}")
        with contextlib.suppress(httpx.TransportError):
            if ready():
                return
        time.sleep(0.1)
    server.stop()
    raise ServerFailed(f"{server.name} did not answer within {READY_TIMEOUT_SECONDS:.0f} s:\n{server.tail()}")
