"""A pytest plugin: the callback mock inside your own test suite, served in a thread on a free loopback port.

Enable it on request (installing the kit enables nothing): `pytest -p callback_kit.testing`, or in the root
`conftest.py`, `pytest_plugins = ["callback_kit.testing"]`. Fixtures:

    callback_mock          the mock, reset to the fixtures before each test; options by the marker
                           `@pytest.mark.callback_mock(profile="matcher", auth=True, rate_limit=0)`
    callback_mock_session  a mock of its own for the whole session, never reset: state survives between tests

For a module, or any other span, start one with `running_mock()`. Each mock is started once, on first use,
and stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from callback_kit.testing.admin import MockAdminError
from callback_kit.testing.faults import FaultRule, Faults, When
from callback_kit.testing.journal import JournalEntry
from callback_kit.testing.mock import CallbackMock, running_mock
from callback_kit.testing.options import MockOptions, OptionError
from callback_kit.testing.report import ClientMisbehaved, Finding, Pattern, RetryReport
from callback_kit.testing.server import MockStartError
from callback_kit.testing.state import ExceptionState, Tenant

__all__ = [
    "CallbackMock",
    "ClientMisbehaved",
    "ExceptionState",
    "FaultRule",
    "Faults",
    "Finding",
    "JournalEntry",
    "MockAdminError",
    "MockOptions",
    "MockStartError",
    "Pattern",
    "RetryReport",
    "Tenant",
    "When",
    "running_mock",
]
MARKER = "callback_mock"


class MockPool:
    """The session's shared mocks, one per set of options, each started on first use."""

    def __init__(self) -> None:
        self._mocks: dict[MockOptions, CallbackMock] = {}
        self._stack = contextlib.ExitStack()

    def get(self, options: MockOptions) -> CallbackMock:
        if options not in self._mocks:
            self._mocks[options] = self._stack.enter_context(running_mock(options))
        return self._mocks[options]

    def close(self) -> None:
        self._stack.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(profile='published', auth=None, rate_limit=None): the options of the mock that the "
        "callback_mock fixture gives this test (callback_kit.testing)",
    )


@pytest.fixture(scope="session")
def callback_mock_pool() -> Iterator[MockPool]:
    """The mocks shared by the session's `callback_mock` fixtures; all stopped when the session ends."""
    pool = MockPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def callback_mock(request: pytest.FixtureRequest, callback_mock_pool: MockPool) -> CallbackMock:
    """The mock, reset to the fixtures (no journal, keys, fault rules or clock offset) before this test."""
    marker = request.node.get_closest_marker(MARKER)
    try:
        if marker is not None and marker.args:
            raise OptionError("takes keyword arguments only, e.g. profile='matcher'")
        options = MockOptions.of(marker.kwargs if marker is not None else {})
    except OptionError as exc:
        pytest.fail(f"@pytest.mark.{MARKER}: {exc}", pytrace=False)
    mock = callback_mock_pool.get(options)
    mock.reset()
    return mock


@pytest.fixture(scope="session")
def callback_mock_session() -> Iterator[CallbackMock]:
    """A mock of its own for the whole session, never reset: what one test leaves, the next one finds."""
    with running_mock() as mock:
        yield mock
