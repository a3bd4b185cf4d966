"""Shared fixtures: stores of every backend, a real Redis, and the mock in-process or as a live server."""

from __future__ import annotations

import pytest

from tests.redis_support import ensure_redis

# The kit's pytest fixture for integrators (`callback_mock`), which the kit's own tests use too.
pytest_plugins = ["callback_kit.testing"]


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The URL of a real redis-server on 127.0.0.1 (started if needed); skipped, or failed in CI, without one."""
    return ensure_redis()
