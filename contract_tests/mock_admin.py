"""The mock's admin API as the suite uses it for TTLs: its clock (`PUT /_mock/clock`), which moves idempotency
TTLs without waiting for them, and its live idempotency records (`GET /_mock/idempotency`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import httpx

from callback_kit.contract_tests.client import CallbackClient
from callback_kit.contract_tests.failures import FactoryError


class MockAdmin:
    """The admin API of the mock at the client's base URL, with the admin token."""

    def __init__(self, client: CallbackClient, admin_token: str) -> None:
        self.client = client.labelled("admin-clock")
        self.headers = {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"}

    def offset(self) -> float:
        """The clock's offset from wall time, in seconds."""
        answer = self.client.send("GET", "/_mock/clock", headers=self.headers)
        body = answer.json()
        if answer.status != 200 or not isinstance(body, dict):
            raise FactoryError(f"GET /_mock/clock answered {answer.status}: {answer.excerpt(200)}")
        return float(body.get("offsetSeconds", 0))

    def set(self, seconds: float) -> None:
        """Put the clock `seconds` ahead of wall time."""
        content = json.dumps({"offsetSeconds": seconds}).encode()
        answer = self.client.send("PUT", "/_mock/clock", content=content, headers=self.headers)
        if answer.status != 200:
            raise FactoryError(f"PUT /_mock/clock answered {answer.status}: {answer.excerpt(200)}")

    @contextlib.contextmanager
    def kept(self) -> Iterator[MockAdmin]:
        """The clock, put back where it was when the block ends."""
        before = self.offset()
        try:
            yield self
        finally:
            # Sent even when the run is stopping (the client refuses then): the mock must not keep a moved clock.
            content = json.dumps({"offsetSeconds": before}).encode()
            with contextlib.suppress(httpx.HTTPError):
                self.client.http.put("/_mock/clock", content=content, headers=self.headers)

    def holds(self, key: str) -> bool:
        """Whether a record of idempotency key `key` is live (in flight or stored)."""
        answer = self.client.send("GET", "/_mock/idempotency", headers=self.headers)
        records = answer.json()
        if answer.status != 200 or not isinstance(records, list):
            raise FactoryError(f"GET /_mock/idempotency answered {answer.status}: {answer.excerpt(200)}")
        return any(isinstance(r, dict) and f'"{key}"' in str(r.get("scopeKey", "")) for r in records)
