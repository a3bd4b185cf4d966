"""The callback rules (`mock_server/callbacks.py`, `handlers.py`), driven through the HTTP API in-process.

Every row of the transition table, what each accepted callback changes, tenant isolation and the optional
per-tenant-and-system rate limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from callback_kit.contract import callback_operation, load_spec
from callback_kit.mock_server.callbacks import HISTORY_LIMIT
from callback_kit.mock_server.clock import iso
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.types import STATUSES
from tests.mock_client import (
    ACME,
    ACME_ASSIGNED,
    ACME_OPEN,
    ACME_PENDING,
    ACME_RESOLVED,
    ACME_SERVICENOW_TOKEN,
    ACME_TOKEN,
    GLOBEX_OPEN,
    GLOBEX_RESOLVED,
    GLOBEX_TOKEN,
    SEEDED,
    UNKNOWN_ID,
    Mock,
    assert_error,
    body,
)

ALLOWED = [("OPEN", "ASSIGNED"), ("OPEN", "RESOLVED"), ("ASSIGNED", "RESOLVED"), ("PENDING_RESOLUTION", "RESOLVED")]
SAME = [(status, status) for status in STATUSES]
FORBIDDEN = [(a, b) for a in STATUSES for b in STATUSES if a != b and (a, b) not in ALLOWED]
ACCEPTED = b'{"status":"accepted"}'
# A whole minute on the mock's clock plus 15.5 s: the rate-limit window has 44.5 s left.
WINDOW_START = 1_800_000_000.0
NOW = WINDOW_START + 15.5


@pytest.fixture
def mock() -> Iterator[Mock]:
    """A fresh mock with the default settings."""
    with Mock() as running:
        yield running


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}"


def spec_examples() -> dict[str, Any]:
    content = callback_operation(load_spec())["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in content["examples"].items()}


# --- the transition table -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=map(pair_id, ALLOWED))
def test_allowed_transition_is_accepted(mock: Mock, current: str, target: str) -> None:
    """A transition of the table is answered 200 with exactly `{"status":"accepted"}`."""
    response = mock.callback(SEEDED[current], body(target))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == ACCEPTED


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=map(pair_id, ALLOWED))
def test_allowed_transition_moves_the_exception(mock: Mock, current: str, target: str) -> None:
    """After an allowed transition the exception is in the target status."""
    mock.callback(SEEDED[current], body(target))
    assert mock.exception(SEEDED[current])["status"] == target


@pytest.mark.parametrize(("current", "target"), SAME, ids=map(pair_id, SAME))
def test_same_status_callback_is_accepted_and_keeps_the_status(mock: Mock, current: str, target: str) -> None:
    """A callback whose status equals the current one is a 200 metadata update."""
    response = mock.callback(SEEDED[current], body(target))
    assert (response.status_code, response.content) == (200, ACCEPTED)
    assert mock.exception(SEEDED[current])["status"] == current


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=map(pair_id, FORBIDDEN))
def test_forbidden_transition_is_refused_with_409(mock: Mock, current: str, target: str) -> None:
    """Every pair outside the table is 409 `MTCH-0507` naming both statuses in `details`."""
    error = assert_error(mock.callback(SEEDED[current], body(target)), 409, "MTCH-0507")
    assert error["details"] == {"from": current, "to": target}


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=map(pair_id, FORBIDDEN))
def test_forbidden_transition_leaves_the_exception_unchanged(mock: Mock, current: str, target: str) -> None:
    """A refused transition changes nothing: status, version, fields and history stay as they were."""
    before = mock.exception(SEEDED[current])
    mock.callback(SEEDED[current], body(target, externalSystem="OTHER", externalIssueId="X-9"))
    assert mock.exception(SEEDED[current]) == before


# --- same-status (metadata-only) updates --------------------------------------------------------------------


def test_same_status_callback_replaces_the_assignee_when_given(mock: Mock) -> None:
    """ASSIGNED → ASSIGNED with an assignee replaces the assignee."""
    mock.callback(ACME_ASSIGNED, body("ASSIGNED", assignee="new.owner@acme.example"))
    assert mock.exception(ACME_ASSIGNED)["assignee"] == "new.owner@acme.example"


def test_same_status_callback_keeps_the_assignee_when_absent(mock: Mock) -> None:
    """RESOLVED → RESOLVED without an assignee keeps the current one."""
    mock.callback(ACME_RESOLVED, body("RESOLVED"))
    assert mock.exception(ACME_RESOLVED)["assignee"] == "analyst1@acme.example"


def test_same_status_callback_replaces_the_due_date_when_given(mock: Mock) -> None:
    """ASSIGNED → ASSIGNED with a dueAt replaces the due date."""
    mock.callback(ACME_ASSIGNED, body("ASSIGNED", dueAt="2027-01-31T12:00:00Z"))
    assert mock.exception(ACME_ASSIGNED)["dueAt"] == "2027-01-31T12:00:00Z"


def test_same_status_callback_keeps_the_due_date_when_absent(mock: Mock) -> None:
    """ASSIGNED → ASSIGNED without a dueAt keeps the due date (only a transition to ASSIGNED clears it)."""
    mock.callback(ACME_ASSIGNED, body("ASSIGNED"))
    assert mock.exception(ACME_ASSIGNED)["dueAt"] == "2026-12-15T17:00:00Z"


def test_same_status_callback_leaves_the_resolution_notes_unchanged(mock: Mock) -> None:
    """RESOLVED → RESOLVED with new notes keeps the notes of the resolution."""
    mock.callback(ACME_RESOLVED, body("RESOLVED", resolutionNotes="Reopened and closed again."))
    assert mock.exception(ACME_RESOLVED)["resolutionNotes"] == "Reversed duplicate entry."


def test_same_status_callback_updates_the_external_references(mock: Mock) -> None:
    """A same-status callback records the sending system and its issue id."""
    mock.callback(ACME_PENDING, body("PENDING_RESOLUTION", externalSystem="servicenow", externalIssueId="INC-7"))
    record = mock.exception(ACME_PENDING)
    assert (record["externalSystem"], record["externalIssueId"]) == ("SERVICENOW", "INC-7")


# --- what a transition changes ------------------------------------------------------------------------------


def test_assignment_stores_the_assignee(mock: Mock) -> None:
    """OPEN → ASSIGNED stores the callback's assignee."""
    mock.callback(ACME_OPEN, body("ASSIGNED", assignee="ana.souza@example.com"))
    assert mock.exception(ACME_OPEN)["assignee"] == "ana.souza@example.com"


def test_assignment_takes_the_assignee_from_payload(mock: Mock) -> None:
    """Without a top-level assignee, `payload.assignee` is the assignee."""
    request = {"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "ASSIGNED"}
    response = mock.callback(ACME_OPEN, {**request, "payload": {"assignee": "from.payload@example.com"}})
    assert response.status_code == 200
    assert mock.exception(ACME_OPEN)["assignee"] == "from.payload@example.com"


def test_top_level_assignee_wins_over_payload_assignee(mock: Mock) -> None:
    """When both are given, the top-level assignee is stored."""
    mock.callback(ACME_OPEN, body("ASSIGNED", assignee="top@example.com", payload={"assignee": "low@example.com"}))
    assert mock.exception(ACME_OPEN)["assignee"] == "top@example.com"


def test_blank_top_level_assignee_falls_back_to_payload_assignee(mock: Mock) -> None:
    """A blank top-level assignee counts as absent when `payload.assignee` is given."""
    response = mock.callback(ACME_OPEN, body("ASSIGNED", assignee="   ", payload={"assignee": "low@example.com"}))
    assert response.status_code == 200
    assert mock.exception(ACME_OPEN)["assignee"] == "low@example.com"


def test_assignee_is_stored_trimmed(mock: Mock) -> None:
    """White space around the assignee is dropped."""
    mock.callback(ACME_OPEN, body("ASSIGNED", assignee="  ana@example.com\t"))
    assert mock.exception(ACME_OPEN)["assignee"] == "ana@example.com"


def test_assignment_without_due_date_clears_the_previous_due_date(mock: Mock) -> None:
    """→ ASSIGNED without dueAt clears a due date the exception had."""
    exception_id = mock.create("OPEN", dueAt="2026-12-24T10:00:00Z")
    mock.callback(exception_id, body("ASSIGNED"))
    assert mock.exception(exception_id)["dueAt"] is None


def test_assignment_stores_the_due_date_in_utc(mock: Mock) -> None:
    """A dueAt with an offset is stored as the same instant in UTC."""
    mock.callback(ACME_OPEN, body("ASSIGNED", dueAt="2026-12-01T18:00:00+02:00"))
    assert mock.exception(ACME_OPEN)["dueAt"] == "2026-12-01T16:00:00Z"


@pytest.mark.parametrize("name", ["due_at", "dueAt"])
def test_assignment_takes_the_due_date_from_payload(mock: Mock, name: str) -> None:
    """Without a top-level dueAt, `payload.due_at` or `payload.dueAt` is the due date."""
    mock.callback(ACME_OPEN, body("ASSIGNED", payload={name: "2026-12-05T09:30:00Z"}))
    assert mock.exception(ACME_OPEN)["dueAt"] == "2026-12-05T09:30:00Z"


def test_top_level_due_date_wins_over_payload_due_date(mock: Mock) -> None:
    """When both are given, the top-level dueAt is stored."""
    mock.callback(ACME_OPEN, body("ASSIGNED", dueAt="2026-12-01T00:00:00Z", payload={"due_at": "2030-01-01T00:00:00Z"}))
    assert mock.exception(ACME_OPEN)["dueAt"] == "2026-12-01T00:00:00Z"


@pytest.mark.parametrize("current", ["OPEN", "ASSIGNED", "PENDING_RESOLUTION"])
def test_resolution_without_notes_records_the_default_note(mock: Mock, current: str) -> None:
    """→ RESOLVED without notes records `Resolved via <SYSTEM> callback` with the upper-cased system."""
    mock.callback(SEEDED[current], body("RESOLVED", externalSystem="jira"))
    assert mock.exception(SEEDED[current])["resolutionNotes"] == "Resolved via JIRA callback"


def test_resolution_with_blank_notes_records_the_default_note(mock: Mock) -> None:
    """Notes of white space only count as absent."""
    mock.callback(ACME_OPEN, body("RESOLVED", externalSystem="WEBHOOK", resolutionNotes=" \t "))
    assert mock.exception(ACME_OPEN)["resolutionNotes"] == "Resolved via WEBHOOK callback"


def test_resolution_stores_the_notes_trimmed(mock: Mock) -> None:
    """→ RESOLVED with notes stores them without surrounding white space."""
    mock.callback(ACME_OPEN, body("RESOLVED", resolutionNotes="  Reversed by finance.\n"))
    assert mock.exception(ACME_OPEN)["resolutionNotes"] == "Reversed by finance."


@pytest.mark.parametrize("name", ["resolution_notes", "resolutionNotes"])
def test_resolution_takes_the_notes_from_payload(mock: Mock, name: str) -> None:
    """Without top-level notes, `payload.resolution_notes` or `payload.resolutionNotes` are the notes."""
    mock.callback(ACME_OPEN, body("RESOLVED", payload={name: "Matched manually."}))
    assert mock.exception(ACME_OPEN)["resolutionNotes"] == "Matched manually."


def test_top_level_notes_win_over_payload_notes(mock: Mock) -> None:
    """When both are given, the top-level notes are stored."""
    mock.callback(ACME_OPEN, body("RESOLVED", resolutionNotes="top", payload={"resolution_notes": "low"}))
    assert mock.exception(ACME_OPEN)["resolutionNotes"] == "top"


@pytest.mark.parametrize("name", ["updated_at", "updatedAt"])
def test_payload_updated_at_is_accepted(mock: Mock, name: str) -> None:
    """An RFC 3339 `payload.updated_at` / `payload.updatedAt` is read (informational) and accepted."""
    assert mock.callback(ACME_OPEN, body("RESOLVED", payload={name: "2026-11-07T05:31:56Z"})).status_code == 200


def test_external_system_is_stored_upper_cased_and_trimmed(mock: Mock) -> None:
    """`externalSystem` is stored trimmed and upper-cased."""
    mock.callback(ACME_OPEN, body("RESOLVED", externalSystem="  ServiceNow "))
    assert mock.exception(ACME_OPEN)["externalSystem"] == "SERVICENOW"


def test_external_issue_id_is_stored_trimmed_with_its_case(mock: Mock) -> None:
    """`externalIssueId` is stored trimmed, its case kept."""
    mock.callback(ACME_OPEN, body("RESOLVED", externalIssueId=" Recon-1234 "))
    assert mock.exception(ACME_OPEN)["externalIssueId"] == "Recon-1234"


@pytest.mark.parametrize("name", sorted(spec_examples()))
def test_every_request_example_of_the_spec_is_accepted_on_an_open_exception(mock: Mock, name: str) -> None:
    """The spec's own request examples are valid callbacks for an OPEN exception."""
    assert mock.callback(ACME_OPEN, spec_examples()[name]).status_code == 200


# --- version, time and history ------------------------------------------------------------------------------


def test_every_accepted_callback_increments_the_version(mock: Mock) -> None:
    """Each accepted callback, transition or metadata update, adds one to the version."""
    mock.callback(ACME_OPEN, body("ASSIGNED"))
    mock.callback(ACME_OPEN, body("ASSIGNED", assignee="other@example.com"))
    mock.callback(ACME_OPEN, body("RESOLVED"))
    assert mock.exception(ACME_OPEN)["version"] == 4


def test_accepted_callback_sets_updated_at_to_the_mock_clock() -> None:
    """`updatedAt` becomes the mock's now, in RFC 3339 UTC."""
    with Mock(clock_source=lambda: NOW) as mock:
        mock.callback(ACME_OPEN, body("RESOLVED"))
        assert mock.exception(ACME_OPEN)["updatedAt"] == iso(NOW)


def test_same_status_callback_sets_updated_at_too() -> None:
    """A metadata-only update also moves `updatedAt`."""
    with Mock(clock_source=lambda: NOW) as mock:
        mock.callback(ACME_RESOLVED, body("RESOLVED"))
        assert mock.exception(ACME_RESOLVED)["updatedAt"] == iso(NOW)


def test_each_accepted_callback_is_added_to_the_history(mock: Mock) -> None:
    """The history lists accepted callbacks oldest first, with status, system, issue, type and key."""
    mock.callback(ACME_OPEN, body("ASSIGNED", externalSystem="jira", externalIssueId="R-1", callbackType="assignment"))
    mock.callback(ACME_OPEN, body("RESOLVED", externalIssueId="R-1"), key="resolve-1")
    history = mock.exception(ACME_OPEN)["callbacks"]
    assert [{k: v for k, v in entry.items() if k != "at"} for entry in history] == [
        {
            "status": "ASSIGNED",
            "externalSystem": "JIRA",
            "externalIssueId": "R-1",
            "callbackType": "assignment",
            "idempotencyKey": None,
        },
        {
            "status": "RESOLVED",
            "externalSystem": "JIRA",
            "externalIssueId": "R-1",
            "callbackType": None,
            "idempotencyKey": "resolve-1",
        },
    ]


def test_history_entry_is_stamped_with_the_mock_clock() -> None:
    """A history entry's `at` is the mock's now."""
    with Mock(clock_source=lambda: NOW) as mock:
        mock.callback(ACME_OPEN, body("RESOLVED"))
        assert mock.exception(ACME_OPEN)["callbacks"][0]["at"] == iso(NOW)


def test_history_keeps_the_newest_callbacks_only(mock: Mock) -> None:
    """Past its limit the history drops the oldest entries."""
    for number in range(HISTORY_LIMIT + 1):
        mock.callback(ACME_RESOLVED, body("RESOLVED", externalIssueId=f"R-{number}"))
    history = mock.exception(ACME_RESOLVED)["callbacks"]
    assert len(history) == HISTORY_LIMIT
    assert (history[0]["externalIssueId"], history[-1]["externalIssueId"]) == ("R-1", f"R-{HISTORY_LIMIT}")


# --- lookup and tenant isolation ----------------------------------------------------------------------------


def test_unknown_exception_is_404(mock: Mock) -> None:
    """A well-formed id that names no exception is 404 `MTCH-0501`."""
    assert_error(mock.callback(UNKNOWN_ID, body()), 404, "MTCH-0501", "exception not found")


@pytest.mark.parametrize(
    ("token", "exception_id"), [(ACME_TOKEN, GLOBEX_OPEN), (GLOBEX_TOKEN, ACME_OPEN)], ids=["acme", "globex"]
)
def test_exception_of_another_tenant_is_404(mock: Mock, token: str, exception_id: str) -> None:
    """Another tenant's exception looks exactly like an unknown one."""
    assert_error(mock.callback(exception_id, body(), token=token), 404, "MTCH-0501", "exception not found")


def test_exception_of_another_tenant_is_left_unchanged(mock: Mock) -> None:
    """A callback refused for tenant isolation changes nothing in the other tenant."""
    before = mock.exception(GLOBEX_OPEN)
    mock.callback(GLOBEX_OPEN, body("RESOLVED"), token=ACME_TOKEN)
    assert mock.exception(GLOBEX_OPEN) == before


def test_exception_created_for_a_tenant_is_reachable_by_that_tenant_only(mock: Mock) -> None:
    """A provisioned exception answers its tenant's token and is 404 for the others."""
    exception_id = mock.create("OPEN", tenant=ACME)
    assert mock.callback(exception_id, body(), token=GLOBEX_TOKEN).status_code == 404
    assert mock.callback(exception_id, body(), token=ACME_SERVICENOW_TOKEN).status_code == 200


def test_exception_id_in_upper_case_names_the_same_exception(mock: Mock) -> None:
    """The exception id is a UUID: its hex digits are case-insensitive."""
    assert mock.callback(ACME_OPEN.upper(), body("RESOLVED")).status_code == 200
    assert mock.exception(ACME_OPEN)["status"] == "RESOLVED"


# --- the optional rate limit --------------------------------------------------------------------------------


def rate_limited(limit: int = 2) -> Mock:
    return Mock(Settings(rate_limit_per_minute=limit), clock_source=lambda: NOW)


def test_rate_limit_is_off_by_default(mock: Mock) -> None:
    """Without a configured limit, 61 callbacks in one minute (the reference's default is 60) all pass."""
    statuses = {mock.callback(ACME_RESOLVED, body("RESOLVED")).status_code for _ in range(61)}
    assert statuses == {200}


def test_callback_over_the_rate_limit_is_refused_with_429() -> None:
    """With a limit of 2, the third callback of a tenant and system in a minute is 429 `MTCH-0506`."""
    with rate_limited() as mock:
        assert [mock.callback(ACME_RESOLVED, body()).status_code for _ in range(2)] == [200, 200]
        assert_error(mock.callback(ACME_RESOLVED, body()), 429, "MTCH-0506", "callback rate limit exceeded")


def test_rate_limited_answer_says_when_the_window_ends() -> None:
    """The 429 carries `Retry-After`: the whole seconds left in the current minute."""
    with rate_limited(limit=1) as mock:
        mock.callback(ACME_RESOLVED, body())
        assert mock.callback(ACME_RESOLVED, body()).headers["retry-after"] == "45"


def test_rate_limited_callback_is_not_applied() -> None:
    """A callback refused by the rate limit leaves the exception as it was."""
    with rate_limited(limit=1) as mock:
        mock.callback(ACME_RESOLVED, body())
        before = mock.exception(ACME_OPEN)
        mock.callback(ACME_OPEN, body("RESOLVED"))
        assert mock.exception(ACME_OPEN) == before


def test_rate_limit_counts_each_external_system_separately() -> None:
    """Another external system of the same tenant keeps its own budget."""
    with rate_limited(limit=1) as mock:
        mock.callback(ACME_RESOLVED, body(externalSystem="JIRA"))
        assert mock.callback(ACME_RESOLVED, body(externalSystem="SERVICENOW")).status_code == 200


def test_rate_limit_counts_each_tenant_separately() -> None:
    """Another tenant sending from the same system keeps its own budget."""
    with rate_limited(limit=1) as mock:
        mock.callback(ACME_RESOLVED, body(externalSystem="JIRA"))
        assert mock.callback(GLOBEX_RESOLVED, body(externalSystem="JIRA"), token=GLOBEX_TOKEN).status_code == 200


def test_rate_limit_counts_system_names_whatever_their_case() -> None:
    """`jira` and `JIRA` are one system and share one budget."""
    with rate_limited(limit=1) as mock:
        mock.callback(ACME_RESOLVED, body(externalSystem="JIRA"))
        assert mock.callback(ACME_RESOLVED, body(externalSystem=" jira ")).status_code == 429


def test_rate_limit_is_shared_by_the_principals_of_a_tenant() -> None:
    """The budget belongs to the tenant and system, not to the token that sends."""
    with rate_limited(limit=1) as mock:
        mock.callback(ACME_RESOLVED, body(), token=ACME_TOKEN)
        assert mock.callback(ACME_RESOLVED, body(), token=ACME_SERVICENOW_TOKEN).status_code == 429


def test_rate_limit_budget_is_renewed_in_the_next_minute() -> None:
    """Once the clock reaches the next minute, the system may send again."""
    with rate_limited(limit=1) as mock:
        mock.callback(ACME_RESOLVED, body())
        mock.shift_clock(60)
        assert mock.callback(ACME_RESOLVED, body()).status_code == 200


def test_an_early_year_keeps_four_digits() -> None:
    """A due date in year 999 is stored as 0999-..., still RFC 3339."""
    from callback_kit.contract.schemas import parse_rfc3339

    assert parse_rfc3339("0999-01-01T00:00:00Z") == "0999-01-01T00:00:00Z"
