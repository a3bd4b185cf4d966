"""Exception readers: how the suite sees an exception's side effects (its status, the callbacks applied to it).

`mock` reads the mock's admin API (`GET /_mock/exceptions/{id}`, field `appliedCallbacks`); a COMMAND is run
like the factory's (`commands.py`) with the exception id as its last argument, and prints one JSON object with
at least `status` and `appliedCallbacks` (for Matcher: the `CALLBACK_PROCESSED` entries of its history).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from callback_kit.contract_tests.client import CallbackClient
from callback_kit.contract_tests.commands import ShellCommands
from callback_kit.contract_tests.failures import ReaderError

SHAPE = 'one JSON object such as {"status": "OPEN", "appliedCallbacks": 0}'


@dataclass(frozen=True)
class Observed:
    """An exception as the reader saw it."""

    status: str
    applied: int


class ExceptionReader(Protocol):
    """Reads one exception of the tenant of `owner_token`."""

    def read(self, exception_id: str, owner_token: str) -> Observed:
        """The exception's status and how many callbacks have been applied to it."""

    def close(self) -> None:
        """Stop whatever the reader still runs (called on interrupt)."""


def observed(raw: Any, source: str) -> Observed:
    """The reader's answer checked: an object with a string `status` and a whole `appliedCallbacks` >= 0."""
    if not isinstance(raw, dict):
        raise ReaderError(f"{source} must print {SHAPE}, got {str(raw)[:200]!r}")
    status, applied = raw.get("status"), raw.get("appliedCallbacks")
    if not isinstance(status, str) or not isinstance(applied, int) or isinstance(applied, bool) or applied < 0:
        raise ReaderError(f"{source} must print {SHAPE}, got {json.dumps(raw)[:200]}")
    return Observed(status, applied)


class MockReader:
    """The mock's admin API: `GET /_mock/exceptions/{id}`."""

    def __init__(self, client: CallbackClient, admin_token: str, admin_option: str = "--admin-token") -> None:
        self.client = client.labelled("reader")
        self.admin_token = admin_token
        self.admin_option = admin_option  # as the run's entry point spells it, for the hint on a 401

    def read(self, exception_id: str, owner_token: str) -> Observed:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        where = f"GET /_mock/exceptions/{exception_id}"
        try:
            answer = self.client.send("GET", f"/_mock/exceptions/{exception_id}", headers=headers)
        except httpx.TransportError as exc:
            raise ReaderError(f"the mock's admin API did not answer: {exc}") from None
        if answer.status != 200:
            hint = f" (is {self.admin_option} the mock's admin token?)" if answer.status == 401 else ""
            raise ReaderError(f"{where} answered {answer.status}{hint}: {answer.excerpt()}")
        return observed(answer.json(), where)

    def close(self) -> None:
        """Nothing runs between requests."""


class CommandReader:
    """A shell command: `COMMAND ID` prints the exception as JSON."""

    def __init__(self, command: str, base_url: str, stop: threading.Event) -> None:
        self.commands = ShellCommands(command, "exception reader", base_url, stop, ReaderError)

    def read(self, exception_id: str, owner_token: str) -> Observed:
        done = self.commands.run(exception_id, owner_token)
        source = f"exception reader `{done.line}`"
        if done.returncode != 0:
            raise ReaderError(f"{source} must exit 0 and print {SHAPE}; {done.output()}")
        try:
            raw = json.loads(done.stdout)
        except ValueError:
            raise ReaderError(f"{source} must print {SHAPE}; {done.output()}") from None
        return observed(raw, source)

    def close(self) -> None:
        """Kill every command still running."""
        self.commands.close()
