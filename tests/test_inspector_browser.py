"""The inspector page (`mock_server/inspector.html` at /_mock/ui) in a real headless Chromium.

The page is loaded from a live mock; callbacks are sent through the API; the page must show them on its own
(it polls the admin API). Needs chromium and chromedriver: skipped without them, failed when CI=true.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.browser import Browser, browser_session, require_browser
from tests.live import ADMIN, LiveMock, running_mock
from tests.mock_client import ACME_OPEN, ACME_TOKEN, ADMIN_TOKEN

RESOLVE = {"externalSystem": "JIRA", "externalIssueId": "RECON-5", "status": "RESOLVED"}
LIVE = "return document.getElementById('status').className === 'live'"
# The cells of the journal row of one request id, once it is there.
ROW = (
    "const row = document.querySelector(`#journal tr[data-request-id='${arguments[0]}']`);"
    "return row && [...row.cells].map(cell => cell.innerText)"
)


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMock]:
    require_browser()  # before starting anything: skip (or fail in CI) without a browser
    with running_mock("memory://", tmp_path_factory.mktemp("inspector")) as live:
        yield live


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with browser_session(tmp_path_factory.mktemp("chromium")) as session:
        yield session


@pytest.fixture
def page(mock: LiveMock, browser: Browser) -> Browser:
    """The browser on a blank page of the mock's origin, with a reset mock and no remembered token."""
    assert httpx.post(f"{mock.url}/_mock/reset", headers=ADMIN).status_code == 200
    browser.open(f"{mock.url}/openapi.json")
    browser.run("localStorage.clear()")
    return browser


def send_callback(mock: LiveMock, request_id: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ACME_TOKEN}", "X-Request-Id": request_id}
    if key:
        headers["X-Idempotency-Key"] = key
    return httpx.post(f"{mock.url}/v1/exceptions/{ACME_OPEN}/callback", json=RESOLVE, headers=headers, timeout=10)


def test_a_callback_sent_through_the_api_appears_in_the_journal(mock: LiveMock, page: Browser) -> None:
    """The page, opened with ?token=, shows a new callback's time, status, replay flag, latency and key by itself."""
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    page.wait_for(LIVE)
    request_id, key = f"browser-{uuid.uuid4()}", f"inspector-{uuid.uuid4().hex[:8]}"
    assert send_callback(mock, request_id, key).status_code == 200
    cells = page.wait_for(ROW, request_id)
    assert cells[3].startswith("200")
    assert (cells[4], cells[6]) == ("no", key)
    assert cells[5].endswith(" ms")
    assert cells[0].count(":") == 2  # the time of day, to the millisecond


def test_the_page_shows_the_exception_state_and_the_idempotency_record(mock: LiveMock, page: Browser) -> None:
    """After a callback the exception is RESOLVED and its key is a complete record."""
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    key = f"inspector-{uuid.uuid4().hex[:8]}"
    assert send_callback(mock, f"browser-{uuid.uuid4()}", key).status_code == 200
    exception = "return document.querySelector(`#exceptions tr[data-exception-id='${arguments[0]}']`)?.innerText"
    page.wait_for(f"{exception}.includes('RESOLVED')", ACME_OPEN)
    records = "return [...document.querySelectorAll('#idempotency tbody tr')].map(row => row.innerText)"
    assert "complete" in page.wait_for(f"{records}.find(text => text.includes(arguments[0]))", key)


def test_the_retry_report_on_the_page_cites_the_request(mock: LiveMock, page: Browser) -> None:
    """A callback without a key shows up as a finding of its client, citing its request id."""
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    request_id = f"browser-{uuid.uuid4()}"
    assert send_callback(mock, request_id, None).status_code == 200
    finding = page.wait_for(
        'const f = document.querySelector(\'[data-principal="acme-jira"] [data-pattern="callback-without-key"]\');'
        "return f && [...f.querySelectorAll('a')].map(a => a.title)"
    )
    assert finding == [request_id]


def test_the_page_asks_for_the_token_and_remembers_it(mock: LiveMock, page: Browser) -> None:
    """Without a token the page asks for one; once typed it is used, kept in localStorage and out of the URL."""
    page.open(f"{mock.url}/_mock/ui")
    page.wait_for("return document.getElementById('status-text').textContent === 'admin token needed'")
    page.type_into("#token", "not-the-token")
    page.click("#token-form button")
    page.wait_for("return document.getElementById('status-text').textContent === 'token refused'")
    page.type_into("#token", ADMIN_TOKEN)
    page.click("#token-form button")
    page.wait_for(LIVE)
    page.open(f"{mock.url}/_mock/ui")
    page.wait_for(LIVE)
    assert page.run("return localStorage.getItem('callbackKitAdminToken')") == ADMIN_TOKEN
    assert page.run("return location.search") == ""


def test_the_page_loads_nothing_from_elsewhere(mock: LiveMock, page: Browser) -> None:
    """Every resource the page loaded came from the mock itself (the machine may be offline)."""
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    page.wait_for(LIVE)
    origins = page.run("return [...new Set(performance.getEntriesByType('resource').map(e => new URL(e.name).origin))]")
    assert set(origins) <= {mock.url}


def test_clicking_a_journal_row_shows_the_request_body(mock: LiveMock, page: Browser) -> None:
    """A click on a row opens the body the client sent, under the row, and keeps it open across refreshes."""
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    request_id = f"browser-{uuid.uuid4()}"
    assert send_callback(mock, request_id, f"inspector-{uuid.uuid4().hex[:8]}").status_code == 200
    page.wait_for(ROW, request_id)
    page.click(f"#journal tr[data-request-id='{request_id}']")
    detail = "return document.querySelector(`#journal tr[data-request-id='${arguments[0]}'] + tr.detail`)?.innerText"
    assert '"externalIssueId":"RECON-5"' in page.wait_for(detail, request_id)
    refreshed = "return document.getElementById('status-text').textContent"
    before = page.run(refreshed)
    page.wait_for(f"return document.getElementById('status-text').textContent !== {before!r}")
    assert page.run(detail, request_id)


def test_a_cited_request_id_leads_to_its_journal_row(mock: LiveMock, page: Browser) -> None:
    """Clicking a request id in a finding clears the journal filter and highlights that row."""
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    request_id = f"browser-{uuid.uuid4()}"
    assert send_callback(mock, request_id, None).status_code == 200
    link = f"#report a[title='{request_id}']"
    page.wait_for("return document.querySelector(arguments[0])", link)
    page.type_into("#journal-filter", "nothing matches this")
    page.click(link)
    flashed = "return document.querySelector(`#journal tr.flash[data-request-id='${arguments[0]}']`) !== null"
    assert page.wait_for(flashed, request_id)
    assert page.run("return document.getElementById('journal-filter').value") == ""


def test_a_long_report_folds_its_findings_and_keeps_the_journal_in_view(mock: LiveMock, page: Browser) -> None:
    """40 findings of one pattern fold under a count, the journal starts within the window, a long key is clipped."""
    with httpx.Client(base_url=mock.url, headers={"Authorization": f"Bearer {ACME_TOKEN}"}, timeout=10) as http:
        for n in range(40):  # 40 invalid callbacks, each sent twice unchanged: 40 findings
            for _ in range(2):
                invalid = {**RESOLVE, "status": "DONE", "externalIssueId": f"RECON-{n}"}
                assert http.post(f"/v1/exceptions/{ACME_OPEN}/callback", json=invalid).status_code == 400
    long_key, request_id = "k" * 128, f"browser-{uuid.uuid4()}"
    assert send_callback(mock, request_id, long_key).status_code == 200
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    group = "document.querySelector('[data-pattern-group=\"unchanged-4xx-retried\"]')"
    summary = page.wait_for(f"return {group}?.querySelector('summary').innerText")
    assert "40 findings" in summary
    assert page.run(f"return {group}.open") is False
    assert page.run("return document.getElementById('journal').getBoundingClientRect().top < innerHeight - 100")
    page.wait_for(ROW, request_id)
    key = page.run(
        "const cell = document.querySelector(`#journal tr[data-request-id='${arguments[0]}'] td:nth-child(7) span`);"
        "return [cell.title, cell.getBoundingClientRect().width, cell.closest('tr').getBoundingClientRect().height]",
        request_id,
    )
    assert key[0] == long_key
    assert key[1] < 300
    assert key[2] < 40


def test_a_folded_pattern_opened_by_the_user_stays_open_across_refreshes(mock: LiveMock, page: Browser) -> None:
    """The page polls and redraws; a group the user opened is still open after the next redraw."""
    with httpx.Client(base_url=mock.url, headers={"Authorization": f"Bearer {ACME_TOKEN}"}, timeout=10) as http:
        for n in range(4):
            for _ in range(2):
                invalid = {**RESOLVE, "status": "DONE", "externalIssueId": f"RECON-{n}"}
                http.post(f"/v1/exceptions/{ACME_OPEN}/callback", json=invalid)
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    group = "[data-pattern-group='unchanged-4xx-retried']"
    page.wait_for("return document.querySelector(arguments[0])", group)
    assert page.run("return document.querySelector(arguments[0]).open", group) is False
    page.click(f"{group} > summary")
    before = page.run("return document.getElementById('status-text').textContent")
    page.wait_for(f"return document.getElementById('status-text').textContent !== {before!r}")
    assert page.run("return document.querySelector(arguments[0]).open", group) is True
    assert page.run("return document.querySelectorAll(arguments[0] + ' .finding').length", group) == 4


def test_a_refused_caller_and_a_spent_fault_rule_are_named_for_what_they_are(mock: LiveMock, page: Browser) -> None:
    """A refused token's client is named by its credential digest; a rule whose times are used up shows spent."""
    assert httpx.post(f"{mock.url}/_mock/faults", headers=ADMIN, json={"action": "latency", "ms": 1, "times": 1})
    assert send_callback(mock, f"browser-{uuid.uuid4()}", f"inspector-{uuid.uuid4().hex[:8]}").status_code == 200
    bad = {"Authorization": "Bearer not-a-token"}
    assert httpx.post(f"{mock.url}/v1/exceptions/{ACME_OPEN}/callback", json=RESOLVE, headers=bad).status_code == 401
    page.open(f"{mock.url}/_mock/ui?token={ADMIN_TOKEN}")
    heading = page.wait_for("return document.querySelector('#report [data-credential] h3')?.innerText")
    assert heading.startswith("refused hmac:")
    assert "never authenticated" in heading
    assert "no tenant" in heading
    assert "spent" in page.wait_for("return document.querySelector('#faults tbody tr')?.innerText")
