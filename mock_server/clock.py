"""The injected clock: wall time plus an offset shared by every worker through the store.

Tests move the offset (admin API `PUT /_mock/clock`) to expire idempotency keys without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from callback_kit.mock_server.types import Store

CLOCK_OFFSET = "clock_offset"


class Clock:
    """Now, as the mock sees it."""

    def __init__(self, store: Store, source: Callable[[], float] = time.time) -> None:
        self._store = store
        self._source = source

    def wall(self) -> float:
        """The clock's source time, without the shared offset."""
        return self._source()

    async def now(self) -> float:
        offset = await self._store.get_setting(CLOCK_OFFSET)
        return self._source() + (float(offset) if offset else 0.0)

    async def set_offset(self, seconds: float) -> None:
        await self._store.set_setting(CLOCK_OFFSET, repr(float(seconds)) if seconds else None)

    async def offset(self) -> float:
        offset = await self._store.get_setting(CLOCK_OFFSET)
        return float(offset) if offset else 0.0


def iso(timestamp: float) -> str:
    """RFC 3339 in UTC with milliseconds, as the mock writes every time."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
