"""Exception factories: how the suite gets an exception of a tenant in a wanted status.

`mock` asks the mock's admin API at the base URL (and can choose the new exception's id); a COMMAND is run
by the shell with the status as its last argument, `CALLBACK_KIT_BASE_URL` and `CALLBACK_KIT_TOKEN` (the
owning tenant's token) in its environment, and prints the new id on the last line of its stdout. A command
runs in a process group of its own, so that an interrupted run can end it and whatever it started (`close`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import threading
from typing import Protocol

import httpx

from callback_kit.contract_tests.client import CallbackClient
from callback_kit.contract_tests.failures import FactoryError, Interrupted
from callback_kit.contract_tests.model import Status

EXCEPTION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
COMMAND_TIMEOUT = 60.0


class ExceptionFactory(Protocol):
    """Provisions one exception; `chooses_ids` says whether `exception_id` is honoured."""

    chooses_ids: bool

    def create(self, status: Status, owner_token: str, exception_id: str | None = None) -> str:
        """The id of a new exception owned by the tenant of `owner_token`, in `status`."""

    def close(self) -> None:
        """Stop whatever the factory still runs (called on interrupt)."""


class MockFactory:
    """The mock's admin API: `POST /_mock/exceptions`."""

    chooses_ids = True

    def __init__(self, client: CallbackClient, admin_token: str) -> None:
        self.client = client.labelled("factory")
        self.admin_token = admin_token

    def create(self, status: Status, owner_token: str, exception_id: str | None = None) -> str:
        body = {"status": status, "ownerToken": owner_token, **({"id": exception_id} if exception_id else {})}
        headers = {"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"}
        try:
            answer = self.client.send("POST", "/_mock/exceptions", content=json.dumps(body).encode(), headers=headers)
        except httpx.TransportError as exc:
            raise FactoryError(f"the mock's admin API did not answer: {exc}") from None
        created = answer.json()
        if answer.status != 201 or not isinstance(created, dict) or not isinstance(created.get("id"), str):
            hint = " (is --admin-token the mock's admin token?)" if answer.status == 401 else ""
            raise FactoryError(
                f"POST /_mock/exceptions answered {answer.status}{hint}: {answer.body[:300].decode('utf-8', 'replace')}"
            )
        return str(created["id"])

    def close(self) -> None:
        """Nothing runs between requests."""


class CommandFactory:
    """A shell command: `COMMAND STATUS` prints the new exception's id."""

    chooses_ids = False

    def __init__(self, command: str, base_url: str, stop: threading.Event) -> None:
        self.command = command
        self.base_url = base_url
        self.stop = stop
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()

    def create(self, status: Status, owner_token: str, exception_id: str | None = None) -> str:
        environ = {**os.environ, "CALLBACK_KIT_BASE_URL": self.base_url, "CALLBACK_KIT_TOKEN": owner_token}
        line = f"{self.command} {shlex.quote(status)}"
        with self._lock:
            if self.stop.is_set():
                raise Interrupted
            process = subprocess.Popen(
                line, shell=True, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True,
            )  # fmt: skip
            self._running.add(process)
        try:
            stdout, stderr = process.communicate(timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._kill(process)
            raise FactoryError(f"exception factory `{line}` did not finish within {COMMAND_TIMEOUT:.0f} s") from None
        finally:
            with self._lock:
                self._running.discard(process)
        if self.stop.is_set():
            raise Interrupted
        lines = [text.strip() for text in stdout.splitlines() if text.strip()]
        if process.returncode != 0 or not lines or not EXCEPTION_ID.fullmatch(lines[-1]):
            raise FactoryError(
                f"exception factory `{line}` must exit 0 and print the new exception's id (a UUID) on its last "
                f"line; it exited {process.returncode}, stdout {stdout[-300:]!r}, stderr {stderr[-300:]!r}"
            )
        return lines[-1]

    def close(self) -> None:
        """Kill every command still running, with the processes it started (its process group)."""
        with self._lock:
            running = list(self._running)
        for process in running:
            self._kill(process)

    @staticmethod
    def _kill(process: subprocess.Popen[str]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
