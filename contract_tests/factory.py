"""Exception factories: how the suite gets an exception of a tenant in a wanted status.

`mock` asks the mock's admin API at the base URL (and can choose the new exception's id); a COMMAND is run
by the shell with the status as its last argument, `CALLBACK_KIT_BASE_URL` and `CALLBACK_KIT_TOKEN` (the
owning tenant's token) in its environment, and prints the new id on the last line of its stdout.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from typing import Protocol

import httpx

from callback_kit.contract_tests.client import CallbackClient
from callback_kit.contract_tests.failures import FactoryError
from callback_kit.contract_tests.model import Status

EXCEPTION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
COMMAND_TIMEOUT = 60.0


class ExceptionFactory(Protocol):
    """Provisions one exception; `chooses_ids` says whether `exception_id` is honoured."""

    chooses_ids: bool

    def create(self, status: Status, owner_token: str, exception_id: str | None = None) -> str:
        """The id of a new exception owned by the tenant of `owner_token`, in `status`."""


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


class CommandFactory:
    """A shell command: `COMMAND STATUS` prints the new exception's id."""

    chooses_ids = False

    def __init__(self, command: str, base_url: str) -> None:
        self.command = command
        self.base_url = base_url

    def create(self, status: Status, owner_token: str, exception_id: str | None = None) -> str:
        environ = {**os.environ, "CALLBACK_KIT_BASE_URL": self.base_url, "CALLBACK_KIT_TOKEN": owner_token}
        line = f"{self.command} {shlex.quote(status)}"
        try:
            done = subprocess.run(
                line, shell=True, env=environ, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise FactoryError(f"exception factory `{line}` did not finish within {COMMAND_TIMEOUT:.0f} s") from None
        lines = [text.strip() for text in done.stdout.splitlines() if text.strip()]
        if done.returncode != 0 or not lines or not EXCEPTION_ID.fullmatch(lines[-1]):
            raise FactoryError(
                f"exception factory `{line}` must exit 0 and print the new exception's id (a UUID) on its last "
                f"line; it exited {done.returncode}, stdout {done.stdout[-300:]!r}, stderr {done.stderr[-300:]!r}"
            )
        return lines[-1]
