"""The inspector page served by the validating proxy, in a real headless Chromium: it shows the violations.

Needs chromium and chromedriver: skipped without them, failed when CI=true.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.broken_servers import mock, stores_failed_responses
from tests.browser import browser_session, require_browser
from tests.proxy_support import ASSIGN, RESOLVED_ID, proxied

# Each script answers null until the page shows what it looks for (`Browser.wait_for` polls it).
VIOLATIONS = (
    "const found = [...document.querySelectorAll('#report-body [data-check]')].map(node => node.dataset.check);"
    "return found.length ? found : null"
)
PARTIES = (
    "const found = [...document.querySelectorAll('#report-body [data-party]')]"
    ".map(node => `${node.dataset.party}:${node.dataset.check || node.innerText}`);"
    "return found.length ? found : null"
)
STATUS_CELLS = (
    "const cells = [...document.querySelectorAll('#journal tbody tr.entry')].map(row => row.cells[3].innerText);"
    "return cells.length ? cells : null"
)


def test_the_proxy_inspector_names_each_violation_in_the_report_and_marks_its_entry(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A replayed refusal (stored without its X-Request-Id): the report lists each check it breaks, and the
    journal row says it has violations."""
    require_browser()
    with (
        proxied(stores_failed_responses(Path("."))) as both,
        browser_session(tmp_path_factory.mktemp("chromium")) as page,
    ):
        both.callback(RESOLVED_ID, key="inspected-1", body=ASSIGN)
        both.callback(RESOLVED_ID, key="inspected-1", body=ASSIGN)
        page.open(f"{both.proxy.base_url}/_mock/ui?token=kit-admin-token")
        checks = page.wait_for(VIOLATIONS)
        cells = page.wait_for(STATUS_CELLS)
    assert checks == ["response_conforms", "carries_declared_headers", "request_id_echoed", "not_replayed"]
    assert "4 violations" in cells[0]
    assert "violation" not in cells[1]


def test_the_proxy_inspector_lists_a_clients_bad_request_under_the_clients_heading(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A request that breaks the spec, to the kit's mock: shown under the clients' heading, no server heading."""
    require_browser()
    with proxied(mock()) as both, browser_session(tmp_path_factory.mktemp("chromium")) as page:
        both.callback(body={"status": "RESOLVED"})
        page.open(f"{both.proxy.base_url}/_mock/ui?token=kit-admin-token")
        shown = page.wait_for(PARTIES)
    assert shown == ["client:Requests that break the contract (the clients') · 1", "client:request_conforms"]
