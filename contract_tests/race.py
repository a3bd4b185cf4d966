"""Bursts of simultaneous requests with one idempotency key, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.client import CallbackClient

RACE_SIZE = 8
BARRIER_TIMEOUT = 30.0


def burst(
    client: CallbackClient,
    exception_id: str,
    body: Mapping[str, Any],
    key: str,
    *,
    size: int = RACE_SIZE,
    headers: Mapping[str, str] | None = None,
) -> list[Exchange]:
    """The answers to `size` identical callbacks sent at the same moment, in the order they were sent."""
    barrier = threading.Barrier(size)

    def send(_: int) -> Exchange:
        barrier.wait(timeout=BARRIER_TIMEOUT)
        return client.callback(exception_id, body, key=key, headers=headers)

    with ThreadPoolExecutor(size) as pool:
        return list(pool.map(send, range(size)))
