"""The admin API under `/_mock/` (`mock_server/admin.py`, `admin.yaml`, `journal.py`): its token, provisioning,
reset, the request journal, the clock and the idempotency records."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from callback_kit.contract import idempotency_contract, load_spec
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
    ACME_VIEWER_TOKEN,
    ADMIN_TOKEN,
    FIXTURE_IDS,
    GLOBEX,
    GLOBEX_OPEN,
    GLOBEX_TOKEN,
    UNKNOWN_ID,
    Mock,
    assert_error,
    body,
    make_jwt,
)

NOW = 1_800_000_000.0
JSON_TYPE = {"Content-Type": "application/json"}
ENDPOINTS = [
    ("GET", "/exceptions", None),
    ("POST", "/exceptions", {"tenant": ACME, "status": "OPEN"}),
    ("GET", f"/exceptions/{ACME_OPEN}", None),
    ("POST", "/reset", None),
    ("GET", "/journal", None),
    ("GET", "/idempotency", None),
    ("GET", "/clock", None),
    ("PUT", "/clock", {"offsetSeconds": 60}),
]
ENDPOINT_IDS = [f"{method} {path.replace(ACME_OPEN, '{id}')}" for method, path, _ in ENDPOINTS]


@pytest.fixture
def mock() -> Iterator[Mock]:
    """A fresh mock with the default settings."""
    with Mock() as running:
        yield running


@pytest.fixture
def fixed() -> Iterator[Mock]:
    """A fresh mock whose wall clock stands still at `NOW`."""
    with Mock(clock_source=lambda: NOW) as running:
        yield running


def exceptions(mock: Mock, **params: str) -> list[dict[str, Any]]:
    response = mock.admin("GET", "/exceptions", params=params)
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()
    return records


def idempotency_records(mock: Mock) -> list[dict[str, Any]]:
    response = mock.admin("GET", "/idempotency")
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()
    return records


# --- the admin token ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_admin_endpoint_without_token_is_401(mock: Mock, method: str, path: str, payload: Any) -> None:
    """Every admin endpoint refuses a request without a token: 401 `MTCH-0003` with a Bearer challenge."""
    response = mock.admin(method, path, token=None, json=payload)
    assert_error(response, 401, "MTCH-0003")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "payload"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_admin_endpoint_with_a_wrong_token_is_401(mock: Mock, method: str, path: str, payload: Any) -> None:
    """Every admin endpoint refuses a token that is not the admin token."""
    assert_error(mock.admin(method, path, token="kit-admin-token-2", json=payload), 401, "MTCH-0003")


@pytest.mark.parametrize("token", [ACME_TOKEN, ACME_VIEWER_TOKEN], ids=["callback", "viewer"])
def test_tenant_token_cannot_use_the_admin_api(mock: Mock, token: str) -> None:
    """A tenant's callback or viewer token is not an admin token."""
    assert_error(mock.admin("GET", "/exceptions", token=token), 401, "MTCH-0003")


def test_refused_admin_request_changes_nothing(mock: Mock) -> None:
    """A reset refused for its token does not reset."""
    mock.callback(ACME_OPEN, body("RESOLVED"))
    mock.admin("POST", "/reset", token="wrong")
    assert mock.exception(ACME_OPEN)["status"] == "RESOLVED"


# --- provisioning exceptions --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_create_exception_by_tenant_id_in_each_status(mock: Mock, status: str) -> None:
    """POST /exceptions with `tenant` creates an exception in the given status, version 1, no history."""
    response = mock.admin("POST", "/exceptions", json={"tenant": GLOBEX, "status": status})
    assert response.status_code == 201
    created = response.json()
    assert (created["tenant"], created["status"], created["version"], created["callbacks"]) == (GLOBEX, status, 1, [])


@pytest.mark.parametrize("status", STATUSES)
def test_create_exception_by_owner_token_in_each_status(mock: Mock, status: str) -> None:
    """POST /exceptions with `ownerToken` creates the exception in that token's tenant."""
    response = mock.admin("POST", "/exceptions", json={"ownerToken": GLOBEX_TOKEN, "status": status})
    assert response.status_code == 201
    assert (response.json()["tenant"], response.json()["status"]) == (GLOBEX, status)


def test_create_exception_by_owner_jwt(mock: Mock) -> None:
    """A JWT as `ownerToken` gives its `tenant_id`."""
    response = mock.admin("POST", "/exceptions", json={"ownerToken": make_jwt(tenant_id=GLOBEX), "status": "OPEN"})
    assert response.json()["tenant"] == GLOBEX


def test_created_exception_is_readable(mock: Mock) -> None:
    """GET /exceptions/{id} answers what POST created."""
    created = mock.admin("POST", "/exceptions", json={"tenant": ACME, "status": "ASSIGNED"}).json()
    assert mock.exception(created["id"]) == created


@pytest.mark.parametrize(
    ("status", "target"),
    [("OPEN", "ASSIGNED"), ("ASSIGNED", "RESOLVED"), ("PENDING_RESOLUTION", "RESOLVED"), ("RESOLVED", "RESOLVED")],
)
def test_created_exception_takes_callbacks_of_its_tenant(mock: Mock, status: str, target: str) -> None:
    """An exception provisioned by owner token obeys the callback rules for that tenant."""
    created = mock.admin("POST", "/exceptions", json={"ownerToken": ACME_SERVICENOW_TOKEN, "status": status}).json()
    assert mock.callback(created["id"], body(target), token=ACME_TOKEN).status_code == 200


def test_create_exception_keeps_the_given_fields(mock: Mock) -> None:
    """Given id (lower-cased), assignee, dueAt (in UTC), notes and external references are stored."""
    request = {
        "id": "ABCDEF01-2345-4678-9ABC-DEF012345678",
        "tenant": ACME,
        "status": "RESOLVED",
        "assignee": "ana@acme.example",
        "dueAt": "2026-12-01T18:00:00+02:00",
        "resolutionNotes": "Closed by hand.",
        "externalSystem": "JIRA",
        "externalIssueId": "RECON-9",
    }
    created = mock.admin("POST", "/exceptions", json=request).json()
    expected = {**request, "id": "abcdef01-2345-4678-9abc-def012345678", "dueAt": "2026-12-01T16:00:00Z"}
    assert {name: created[name] for name in request} == expected


def test_create_exception_with_an_existing_id_is_409(mock: Mock) -> None:
    """An id already taken (in any letter case) is 409 `MTCH-0508`."""
    response = mock.admin("POST", "/exceptions", json={"id": ACME_OPEN.upper(), "tenant": GLOBEX, "status": "OPEN"})
    assert_error(response, 409, "MTCH-0508")


def test_create_exception_without_owner_is_400(mock: Mock) -> None:
    """Neither `tenant` nor `ownerToken` is 400 naming `tenant`."""
    error = assert_error(mock.admin("POST", "/exceptions", json={"status": "OPEN"}), 400, "MTCH-0001")
    assert error["details"]["field"] == "tenant"


def test_create_exception_with_an_unknown_owner_token_is_400(mock: Mock) -> None:
    """An `ownerToken` that is no valid token is 400 naming `ownerToken`."""
    response = mock.admin("POST", "/exceptions", json={"ownerToken": "no-such-token", "status": "OPEN"})
    assert assert_error(response, 400, "MTCH-0001")["details"]["field"] == "ownerToken"


@pytest.mark.parametrize("payload", [{"tenant": ACME}, {"tenant": ACME, "status": "CLOSED"}], ids=["none", "enum"])
def test_create_exception_without_a_valid_status_is_400(mock: Mock, payload: dict[str, Any]) -> None:
    """`status` is required and must be one of the four."""
    assert_error(mock.admin("POST", "/exceptions", json=payload), 400, "MTCH-0001")


def test_create_exception_with_content_type_in_other_letter_case_is_accepted(mock: Mock) -> None:
    """Media types are case-insensitive: `Application/JSON` is JSON for the admin API too."""
    content = json.dumps({"tenant": ACME, "status": "OPEN"}).encode()
    response = mock.admin("POST", "/exceptions", content=content, headers={"Content-Type": "Application/JSON"})
    assert response.status_code == 201


# --- reading exceptions -------------------------------------------------------------------------------------


def test_list_exceptions_answers_every_fixture(mock: Mock) -> None:
    """GET /exceptions lists the fixtures of every tenant."""
    records = exceptions(mock)
    assert sorted(r["id"] for r in records) == sorted(FIXTURE_IDS)
    assert {ACME, GLOBEX} <= {r["tenant"] for r in records}


def test_list_exceptions_filters_by_tenant(mock: Mock) -> None:
    """`?tenant=` keeps that tenant's exceptions only."""
    records = exceptions(mock, tenant=GLOBEX)
    assert {r["tenant"] for r in records} == {GLOBEX}
    assert GLOBEX_OPEN in {r["id"] for r in records}


def test_get_exception_answers_the_fixture(mock: Mock) -> None:
    """GET /exceptions/{id} shows a fixture with its fields in camelCase."""
    assert mock.exception(ACME_ASSIGNED) == {
        "id": ACME_ASSIGNED,
        "tenant": ACME,
        "status": "ASSIGNED",
        "version": 1,
        "assignee": "analyst1@acme.example",
        "dueAt": "2026-12-15T17:00:00Z",
        "resolutionNotes": None,
        "externalSystem": "JIRA",
        "externalIssueId": "RECON-111",
        "updatedAt": "2026-11-01T09:00:00Z",
        "callbacks": [],
        "appliedCallbacks": 0,
    }


def test_get_unknown_exception_is_404(mock: Mock) -> None:
    """An id the mock does not hold is 404 `MTCH-0501`."""
    assert_error(mock.admin("GET", f"/exceptions/{UNKNOWN_ID}"), 404, "MTCH-0501")


# --- reset --------------------------------------------------------------------------------------------------


def test_reset_restores_the_fixtures(mock: Mock) -> None:
    """After callbacks and provisioning, POST /reset brings back exactly the fixtures."""
    original = exceptions(mock)
    mock.callback(ACME_OPEN, body("ASSIGNED"))
    mock.callback(GLOBEX_OPEN, body("RESOLVED"), token=GLOBEX_TOKEN)
    mock.create("PENDING_RESOLUTION")
    mock.admin("POST", "/reset")
    assert exceptions(mock) == original


def test_reset_answers_the_number_of_fixtures(mock: Mock) -> None:
    """The reset answers how many exceptions it seeded."""
    assert mock.admin("POST", "/reset").json() == {"exceptions": len(FIXTURE_IDS)}


def test_reset_empties_the_journal(mock: Mock) -> None:
    """No journal entry survives a reset."""
    mock.callback(ACME_OPEN, body())
    mock.admin("POST", "/reset")
    assert mock.journal() == []


def test_reset_forgets_idempotency_keys(mock: Mock) -> None:
    """After a reset, a key used before is processed anew."""
    mock.callback(ACME_OPEN, body("RESOLVED"), key="before-reset")
    mock.admin("POST", "/reset")
    assert mock.callback(ACME_OPEN, body("RESOLVED"), key="before-reset").headers["x-idempotency-replayed"] == "false"


# --- the journal --------------------------------------------------------------------------------------------


def test_journal_lists_callbacks_newest_first(mock: Mock) -> None:
    """Entries come newest first."""
    for exception_id in (ACME_OPEN, ACME_ASSIGNED, ACME_PENDING):
        mock.callback(exception_id, body())
    assert [entry["exceptionId"] for entry in mock.journal()] == [ACME_PENDING, ACME_ASSIGNED, ACME_OPEN]


def test_journal_entry_describes_the_callback(fixed: Mock) -> None:
    """An entry holds the request and the answer: who, what, which key, status and replay flag."""
    response = fixed.callback(ACME_OPEN, body("RESOLVED"), key="journal-key-1", headers={"X-Request-Id": "trace-1"})
    entry = fixed.journal()[0]
    assert response.status_code == 200
    expected = {
        "at": iso(NOW),
        "requestId": "trace-1",
        "tenant": ACME,
        "principal": "acme-jira",
        "method": "POST",
        "path": f"/v1/exceptions/{ACME_OPEN}/callback",
        "exceptionId": ACME_OPEN,
        "idempotencyKey": "journal-key-1",
        "status": 200,
        "replayed": False,
    }
    assert {name: entry[name] for name in expected} == expected


def test_journal_keeps_the_request_body(mock: Mock) -> None:
    """An entry holds the body as sent."""
    sent = body("RESOLVED", resolutionNotes="From the journal test.")
    mock.callback(ACME_OPEN, sent)
    assert mock.journal()[0]["body"] == json.dumps(sent)


def test_journal_marks_replays(mock: Mock) -> None:
    """The second use of a key is journaled as a replay."""
    mock.callback(ACME_OPEN, body(), key="replay-me")
    mock.callback(ACME_OPEN, body(), key="replay-me")
    assert [entry["replayed"] for entry in mock.journal()] == [True, False]


def test_journal_says_which_callbacks_were_applied(mock: Mock) -> None:
    """Only the first use of a key changed the exception: the replay and a refusal are not applied."""
    mock.callback(ACME_OPEN, body(), key="apply-me")
    mock.callback(ACME_OPEN, body(), key="apply-me")
    mock.callback(ACME_RESOLVED, body("OPEN"))
    assert [(e["status"], e["applied"]) for e in reversed(mock.journal())] == [(200, True), (200, False), (409, False)]


def test_journal_records_refused_callbacks_with_their_code(mock: Mock) -> None:
    """Callbacks answered with an error are journaled with status and code."""
    mock.callback(ACME_RESOLVED, body("OPEN"))
    mock.callback(ACME_OPEN, {"status": "RESOLVED"})
    assert [(e["status"], e["code"]) for e in mock.journal()] == [(400, "MTCH-0001"), (409, "MTCH-0507")]


def test_journal_records_requests_refused_by_authentication_by_a_digest_of_the_credential(mock: Mock) -> None:
    """401s are journaled with no caller: a digest of the credential sent (none without a header), not the token."""
    mock.callback(ACME_OPEN, body(), token=None)
    mock.callback(ACME_OPEN, body(), token="no-such-token")
    newest, oldest = mock.journal()
    assert [(e["status"], e["code"], e["tenant"], e["principal"]) for e in (oldest, newest)] == [
        (401, "MTCH-0003", None, None),
        (401, "MTCH-0003", None, None),
    ]
    assert oldest["credential"] is None
    assert re.fullmatch(r"hmac:[0-9a-f]{12}", newest["credential"])
    assert "no-such-token" not in json.dumps(newest)


def test_the_credential_digest_is_keyed_with_the_admin_token() -> None:
    """The same refused token gets another digest under another admin token: a copied journal confirms no guess."""
    digests = []
    for admin_token in ("first-admin-token", "second-admin-token"):
        with Mock(Settings(admin_token=admin_token)) as running:
            running.callback(ACME_OPEN, body(), token="no-such-token")
            (entry,) = running.admin("GET", "/journal", token=admin_token).json()
            digests.append(entry["credential"])
    assert digests[0] != digests[1]


@pytest.mark.parametrize("tenant_token", [ACME_TOKEN, ACME_VIEWER_TOKEN], ids=["static", "static-forbidden"])
def test_journal_never_contains_a_static_bearer_token(mock: Mock, tenant_token: str) -> None:
    """No entry, for accepted or refused callbacks, contains the caller's token."""
    mock.callback(ACME_OPEN, body(), token=tenant_token, key="k-1")
    text = mock.admin("GET", "/journal").text
    assert tenant_token not in text


def test_journal_never_contains_a_jwt(mock: Mock) -> None:
    """No entry contains a JWT the caller sent, nor its signature."""
    token = make_jwt()
    mock.callback(ACME_OPEN, body(), token=token)
    text = mock.admin("GET", "/journal").text
    assert token not in text
    assert token.rsplit(".", 1)[1] not in text


def test_journal_never_contains_the_admin_token(mock: Mock) -> None:
    """Admin requests do not leak the admin token into the journal."""
    mock.callback(ACME_OPEN, body())
    mock.admin("GET", "/exceptions")
    assert ADMIN_TOKEN not in mock.admin("GET", "/journal").text


def test_journal_limit_keeps_the_newest_entries(mock: Mock) -> None:
    """`?limit=n` answers the n newest entries."""
    for exception_id in (ACME_OPEN, ACME_ASSIGNED, ACME_PENDING):
        mock.callback(exception_id, body())
    assert [entry["exceptionId"] for entry in mock.journal(limit=2)] == [ACME_PENDING, ACME_ASSIGNED]


def test_journal_limit_below_one_is_400(mock: Mock) -> None:
    """`limit` must be at least 1."""
    assert_error(mock.admin("GET", "/journal", params={"limit": 0}), 400, "MTCH-0001")


# --- the clock ----------------------------------------------------------------------------------------------


def test_clock_starts_at_wall_time(fixed: Mock) -> None:
    """Without a shift the mock's clock is the wall clock."""
    assert fixed.admin("GET", "/clock").json() == {"now": iso(NOW), "offsetSeconds": 0}


def test_clock_put_shifts_now(fixed: Mock) -> None:
    """PUT /clock moves now by `offsetSeconds` and answers the new clock."""
    response = fixed.admin("PUT", "/clock", json={"offsetSeconds": 3600.5})
    assert response.json() == {"now": iso(NOW + 3600.5), "offsetSeconds": 3600.5}
    assert fixed.admin("GET", "/clock").json()["now"] == iso(NOW + 3600.5)


def test_clock_can_go_backwards(fixed: Mock) -> None:
    """A negative offset puts now in the past."""
    assert fixed.admin("PUT", "/clock", json={"offsetSeconds": -86400}).json()["now"] == iso(NOW - 86400)


def test_clock_put_zero_puts_it_back(fixed: Mock) -> None:
    """Offset 0 returns to wall time."""
    fixed.shift_clock(120)
    fixed.shift_clock(0)
    assert fixed.admin("GET", "/clock").json() == {"now": iso(NOW), "offsetSeconds": 0}


def test_shifted_clock_stamps_callbacks(fixed: Mock) -> None:
    """Callbacks after a shift carry the shifted time."""
    fixed.shift_clock(90)
    fixed.callback(ACME_OPEN, body())
    assert fixed.exception(ACME_OPEN)["updatedAt"] == iso(NOW + 90)


@pytest.mark.parametrize(
    "payload",
    [{}, {"offsetSeconds": "soon"}, {"offsetSeconds": 1e12}, {"offsetSeconds": -1e9}],
    ids=["missing", "string", "too-far", "too-early"],
)
def test_clock_put_with_a_bad_offset_is_400(fixed: Mock, payload: dict[str, Any]) -> None:
    """The offset is a required number within the spec's range."""
    assert_error(fixed.admin("PUT", "/clock", json=payload), 400, "MTCH-0001")
    assert fixed.admin("GET", "/clock").json()["offsetSeconds"] == 0


def test_clock_put_with_nan_is_400(fixed: Mock) -> None:
    """`NaN` is not a JSON number: the PUT is 400 `MTCH-0001`."""
    response = fixed.admin("PUT", "/clock", content=b'{"offsetSeconds": NaN}', headers=JSON_TYPE)
    assert_error(response, 400, "MTCH-0001")


def test_refused_clock_put_leaves_callbacks_working(fixed: Mock) -> None:
    """After a refused PUT /clock with `NaN`, callbacks are still answered normally."""
    fixed.admin("PUT", "/clock", content=b'{"offsetSeconds": NaN}', headers=JSON_TYPE)
    assert fixed.callback(ACME_OPEN, body()).status_code == 200


# --- idempotency records ------------------------------------------------------------------------------------


def test_idempotency_records_list_completed_keys(mock: Mock) -> None:
    """A processed key shows as `complete` with its status, scoped by tenant, principal, method and path."""
    mock.callback(ACME_OPEN, body(), key="listed-key")
    [record] = idempotency_records(mock)
    assert (record["state"], record["status"]) == ("complete", 200)
    for part in (ACME, "acme-jira", "POST", f"/v1/exceptions/{ACME_OPEN}/callback", "listed-key"):
        assert part in record["scopeKey"]


def test_idempotency_records_never_show_claim_tokens(mock: Mock) -> None:
    """Records name their fields; none of them is the claim token."""
    mock.callback(ACME_OPEN, body(), key="listed-key")
    [record] = idempotency_records(mock)
    assert not {name for name in record if "token" in name.lower()}


def test_idempotency_records_skip_requests_without_key(mock: Mock) -> None:
    """Only keyed requests leave a record."""
    mock.callback(ACME_OPEN, body())
    assert idempotency_records(mock) == []


def test_idempotency_records_skip_failed_requests(mock: Mock) -> None:
    """A keyed request answered with an error releases its key: no record."""
    mock.callback(UNKNOWN_ID, body(), key="failed-key")
    assert idempotency_records(mock) == []


def test_idempotency_records_drop_expired_keys(mock: Mock) -> None:
    """A completed key is no longer listed once the clock passes `completedTtlSeconds`."""
    mock.callback(ACME_OPEN, body(), key="expiring-key")
    mock.shift_clock(idempotency_contract(load_spec()).completed_ttl + 1)
    assert idempotency_records(mock) == []
