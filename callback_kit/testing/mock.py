"""`CallbackMock`: a running mock as a test sees it (its URL, tokens, state, faults, journal and retry report),
and `running_mock()`, which starts one for as long as a `with` block lasts.

Everything goes through the mock's admin API over HTTP, as a client in another process would.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from callback_kit.testing.admin import AdminClient
from callback_kit.testing.faults import Faults
from callback_kit.testing.journal import JournalEntry
from callback_kit.testing.options import MockOptions
from callback_kit.testing.report import ClientMisbehaved, Pattern, RetryReport, patterns_of
from callback_kit.testing.server import MockServer
from callback_kit.testing.state import ACME, ADMIN_TOKEN, GLOBEX, ExceptionState, Status, Tenant

JOURNAL_LIMIT = 10_000  # the admin API's most; the journal keeps at most that many entries anyway


class CallbackMock:
    """A running mock of `POST /v1/exceptions/{exceptionId}/callback`, seeded with the kit's fixtures."""

    acme: Tenant = ACME
    """The first seeded tenant (its token: `acme-integration-token`)."""
    globex: Tenant = GLOBEX
    """The second seeded tenant (its token: `globex-integration-token`)."""
    admin_token: str = ADMIN_TOKEN

    def __init__(self, url: str, options: MockOptions) -> None:
        self.url = url
        """The base URL, e.g. `http://127.0.0.1:40123`."""
        self.options = options
        self._admin = AdminClient(url, ADMIN_TOKEN)
        self.faults = Faults(self._admin)
        """Fault rules: `faults.lose_response(times=1)`, `faults.force_status(503)`, ..."""

    def __repr__(self) -> str:
        return f"<CallbackMock {self.url} {self.options}>"

    def callback_url(self, exception_id: str) -> str:
        """The callback endpoint of one exception."""
        return f"{self.url}/v1/exceptions/{exception_id}/callback"

    def reset(self) -> None:
        """Back to the fixtures: seeded exceptions only; no journal, keys, fault rules or clock offset."""
        self._admin.call("POST", "/reset")

    def create_exception(self, status: Status = "OPEN", *, tenant: Tenant = ACME) -> str:
        """A new exception of `tenant` in `status`; returns its id."""
        # By the tenant's token rather than its id, so that with auth off it belongs to whoever calls.
        created = self._admin.call("POST", "/exceptions", body={"ownerToken": tenant.token, "status": status})
        return str(created["id"])

    def exception(self, exception_id: str) -> ExceptionState:
        """The exception's state now, with the callbacks applied to it."""
        return ExceptionState.from_json(self._admin.call("GET", f"/exceptions/{exception_id}"))

    def journal(self) -> list[JournalEntry]:
        """Every callback the mock answered since the last reset, in the order it answered them (oldest first)."""
        newest_first = self._admin.call("GET", "/journal", params={"limit": JOURNAL_LIMIT})
        return [JournalEntry.from_json(entry) for entry in reversed(newest_first)]

    def report(self) -> RetryReport:
        """The retry report of the journal: what each client's retries lost or duplicated."""
        return RetryReport.from_json(self._admin.call("GET", "/report", params={"limit": JOURNAL_LIMIT}))

    def assert_no_findings(self, *, ignore: Pattern | Iterable[Pattern] = ()) -> None:
        """Fail the test with the report's findings (patterns, cited requests, advice) unless the clients were clean.

        `ignore` names a pattern, or several, that a test provokes on purpose, e.g. `retry-without-backoff` with a
        zero back-off; an unknown name is a `ValueError` listing the patterns.
        """
        __tracebackhide__ = True  # pytest shows the test's line, not this one
        ignored = patterns_of(ignore)
        report = self.report()
        if any(finding.pattern not in ignored for finding in report.findings):
            raise ClientMisbehaved(report, ignored)

    def move_clock(self, seconds: float) -> datetime:
        """Move the mock's clock `seconds` forward (back, if negative), e.g. past a key's TTL; returns its new now."""
        offset = float(self._admin.call("GET", "/clock")["offsetSeconds"])
        clock = self._admin.call("PUT", "/clock", body={"offsetSeconds": offset + seconds})
        return datetime.fromisoformat(clock["now"])

    def close(self) -> None:
        """Close the admin API's connections (the server is stopped by whoever started it)."""
        self._admin.close()


@contextlib.contextmanager
def running_mock(options: MockOptions | None = None) -> Iterator[CallbackMock]:
    """A mock of its own, in a thread, for the `with` block: no reset in between, so its state lives as long."""
    options = options or MockOptions()
    server = MockServer(options.settings())
    mock = CallbackMock(server.start(), options)
    try:
        yield mock
    finally:
        mock.close()
        server.stop()
