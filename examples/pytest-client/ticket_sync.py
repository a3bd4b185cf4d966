"""A small client of Matcher's exception callback: it tells Matcher that a ticket was resolved or assigned.

Every callback gets one idempotency key, kept for all its attempts: a retry is the same callback, so Matcher
answers it from its store instead of applying it again. It retries what may succeed later (a lost answer or a
timeout, 429, 5xx, 409 for a key still in flight), waiting at least `Retry-After` and twice as long each time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

RETRYABLE = frozenset({429, 500, 502, 503, 504})
IN_FLIGHT = "MTCH-0018"  # 409 for a key whose first request is still being processed


@dataclass(frozen=True)
class Delivered:
    """Matcher took the callback."""

    status: int
    replayed: bool
    """True when the answer is the one stored for an earlier attempt (its answer had been lost)."""
    attempts: int


class CallbackFailed(RuntimeError):
    """Matcher refused the callback, or did not answer after every attempt."""


class TicketSync:
    """Sends callbacks for one tenant's token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        attempts: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], object] = time.sleep,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.backoff = backoff
        self.sleep = sleep
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def resolve(self, exception_id: str, issue_id: str) -> Delivered:
        return self.send(exception_id, {"externalSystem": "JIRA", "externalIssueId": issue_id, "status": "RESOLVED"})

    def send(self, exception_id: str, body: dict[str, Any]) -> Delivered:
        key = str(uuid.uuid4())  # one key for every attempt: a retry is the same callback
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                response = self._post(exception_id, body, key)
            except httpx.TransportError:
                pass  # the answer was lost or never came: the callback may have been applied; the key makes it safe
            else:
                if not _retryable(response):
                    return _outcome(response, attempt)
                wait = max(wait, float(response.headers.get("Retry-After", 0)))
            if attempt < self.attempts:
                self.sleep(wait)
        raise CallbackFailed(f"no answer from Matcher after {self.attempts} attempts")

    def _post(self, exception_id: str, body: dict[str, Any], key: str) -> httpx.Response:
        url = f"{self.base_url}/v1/exceptions/{exception_id}/callback"
        return self.http.post(url, json=body, headers={"X-Idempotency-Key": key})


def _retryable(response: httpx.Response) -> bool:
    if response.status_code == 409:
        return bool(response.json().get("code") == IN_FLIGHT)
    return response.status_code in RETRYABLE


def _outcome(response: httpx.Response, attempts: int) -> Delivered:
    if response.is_success:
        replayed = response.headers.get("X-Idempotency-Replayed") == "true"
        return Delivered(response.status_code, replayed, attempts)
    error = response.json()
    raise CallbackFailed(f"Matcher refused the callback: {response.status_code} {error['code']} {error['message']}")
