"""Exception factories: how the suite gets an exception of a tenant in a wanted status.

`mock` asks the mock's admin API at the base URL (and can choose the new exception's id); a COMMAND is run
by the shell (`commands.py`) with the status as its last argument and prints the new id on the last line of
its stdout.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Protocol

import httpx

from callback_kit.contract_tests.client import CallbackClient
from callback_kit.contract_tests.commands import ShellCommands
from callback_kit.contract_tests.failures import FactoryError
from callback_kit.contract_tests.model import Status

EXCEPTION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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

    def __init__(self, client: CallbackClient, admin_token: str, admin_option: str = "--admin-token") -> None:
        self.client = client.labelled("factory")
        self.admin_token = admin_token
        self.admin_option = admin_option  # as the run's entry point spells it, for the hint on a 401

    def create(self, status: Status, owner_token: str, exception_id: str | None = None) -> str:
        body = {"status": status, "ownerToken": owner_token, **({"id": exception_id} if exception_id else {})}
        headers = {"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"}
        try:
            answer = self.client.send("POST", "/_mock/exceptions", content=json.dumps(body).encode(), headers=headers)
        except httpx.TransportError as exc:
            raise FactoryError(f"the mock's admin API did not answer: {exc}") from None
        created = answer.json()
        if answer.status != 201 or not isinstance(created, dict) or not isinstance(created.get("id"), str):
            hint = f" (is {self.admin_option} the mock's admin token?)" if answer.status == 401 else ""
            raise FactoryError(f"POST /_mock/exceptions answered {answer.status}{hint}: {answer.excerpt()}")
        return str(created["id"])

    def close(self) -> None:
        """Nothing runs between requests."""


class CommandFactory:
    """A shell command: `COMMAND STATUS` prints the new exception's id."""

    chooses_ids = False

    def __init__(self, command: str, base_url: str, stop: threading.Event) -> None:
        self.commands = ShellCommands(command, "exception factory", base_url, stop, FactoryError)

    def create(self, status: Status, owner_token: str, exception_id: str | None = None) -> str:
        done = self.commands.run(status, owner_token)
        lines = [text.strip() for text in done.stdout.splitlines() if text.strip()]
        if done.returncode != 0 or not lines or not EXCEPTION_ID.fullmatch(lines[-1]):
            raise FactoryError(
                f"exception factory `{done.line}` must exit 0 and print the new exception's id (a UUID) on its "
                f"last line; {done.output()}"
            )
        return lines[-1]

    def close(self) -> None:
        """Kill every command still running, with the processes it started (its process group)."""
        self.commands.close()
