"""The matcher parity profile answers as Matcher 2.1 does (callback-endpoint.md, sections 3.3 and 7).

Each test is one scenario of the reference, asserting its exact answer. The default tenant is the one
Matcher uses with auth off (`11111111-1111-1111-1111-111111111111`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from callback_kit.contract import load_spec
from callback_kit.mock_server.profiles import MATCHER, derive_spec
from callback_kit.mock_server.settings import Settings
from tests.mock_client import Mock, assert_error, body

OPEN = "3c010000-0000-4000-8000-000300000001"
OPEN_2 = "3c020000-0000-4000-8000-000300000002"
ASSIGNED = "3c110000-0000-4000-8000-000300010001"
PENDING = "3c210000-0000-4000-8000-000300020001"
RESOLVED = "3c310000-0000-4000-8000-000300030001"
NIL = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def mock() -> Iterator[Mock]:
    with Mock(Settings(profile="matcher")) as started:
        yield started


def key() -> str:
    return str(uuid.uuid4())


def test_resolving_an_open_exception_is_accepted_without_a_replay_header(mock: Mock) -> None:
    """ProcessResolved: 200 accepted, no X-Idempotency-Replayed on first processing; the exception is RESOLVED."""
    answer = mock.callback(
        OPEN, body("RESOLVED", externalSystem="MANUAL", callbackType="STATUS_UPDATE"), token=None, key=key()
    )
    assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
    assert "X-Idempotency-Replayed" not in answer.headers
    assert mock.exception(OPEN)["status"] == "RESOLVED"


def test_assigning_an_open_exception_records_the_assignee(mock: Mock) -> None:
    """ProcessAssigned: 200; the exception is ASSIGNED to agent@test.com."""
    answer = mock.callback(OPEN, body("ASSIGNED", assignee="agent@test.com"), token=None, key=key())
    assert answer.status_code == 200
    record = mock.exception(OPEN)
    assert (record["status"], record["assignee"]) == ("ASSIGNED", "agent@test.com")


def test_an_unknown_exception_is_404(mock: Mock) -> None:
    """NonExistentException: 404 MTCH-0501."""
    assert_error(
        mock.callback(str(uuid.uuid4()), body(), token=None, key=key()), 404, "MTCH-0501", "exception not found"
    )


@pytest.mark.parametrize("field", ["externalSystem", "status", "externalIssueId"])
def test_an_empty_required_field_is_an_invalid_request_body(mock: Mock, field: str) -> None:
    """MissingExternalSystem / MissingStatus / MissingExternalIssueID (empty strings): 400 invalid request body."""
    answer = mock.callback(OPEN, body(**{field: ""}), token=None, key=key())
    assert_error(answer, 400, "MTCH-0001", "invalid request body")


def test_a_missing_key_header_is_required(mock: Mock) -> None:
    """No X-Idempotency-Key: 400 MTCH-0001 `X-Idempotency-Key header is required`."""
    assert_error(mock.callback(OPEN, body(), token=None), 400, "MTCH-0001", "X-Idempotency-Key header is required")


def test_the_alias_header_alone_is_not_enough(mock: Mock) -> None:
    """Idempotency-Key only: 400 `X-Idempotency-Key header is required` (scenario 3)."""
    answer = mock.callback(OPEN, body(), token=None, headers={"Idempotency-Key": key()})
    assert_error(answer, 400, "MTCH-0001", "X-Idempotency-Key header is required")


def test_a_path_that_is_not_a_uuid_is_an_invalid_exception_id(mock: Mock) -> None:
    """`not-a-uuid`: 400 `invalid exception id`."""
    assert_error(mock.callback("not-a-uuid", body(), token=None, key=key()), 400, "MTCH-0001", "invalid exception id")


def test_the_nil_uuid_is_an_exception_id_that_is_required(mock: Mock) -> None:
    """Scenario 5: the nil UUID path is 400 `exception id is required`."""
    assert_error(mock.callback(NIL, body(), token=None, key=key()), 400, "MTCH-0001", "exception id is required")


@pytest.mark.parametrize(("field", "value"), [("dueAt", "not-a-date"), ("updatedAt", "bad-date-format")])
def test_a_bad_date_names_its_field_and_rfc3339(mock: Mock, field: str, value: str) -> None:
    """`dueAt:"not-a-date"` / `updatedAt:"bad-date-format"`: 400 `invalid <field> format, expected RFC3339`."""
    answer = mock.callback(OPEN, body(**{field: value}), token=None, key=key())
    assert_error(answer, 400, "MTCH-0001", f"invalid {field} format, expected RFC3339")


@pytest.mark.parametrize("bad", ["bad key!", "a" * 129, "a.b"])
def test_a_malformed_key_is_mtch_0015(mock: Mock, bad: str) -> None:
    """Scenario 4: `bad key!`, 129 characters, `a.b` → 400 MTCH-0015 `invalid idempotency key format`."""
    answer = mock.callback(OPEN, body(), token=None, key=bad)
    assert_error(answer, 400, "MTCH-0015", "invalid idempotency key format")


def test_a_key_of_128_characters_is_accepted(mock: Mock) -> None:
    """Scenario 4: a key of exactly 128 characters is fine."""
    assert mock.callback(OPEN, body(), token=None, key="k" * 128).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_a_wrong_or_missing_content_type_is_an_invalid_request_body(mock: Mock, content_type: str | None) -> None:
    """Scenario 6: `Content-Type: text/plain` or none → 400 `invalid request body`."""
    headers = {"Content-Type": content_type} if content_type else {}
    answer = mock.callback(OPEN, token=None, key=key(), headers=headers, content=b'{"status":"RESOLVED"}')
    assert_error(answer, 400, "MTCH-0001", "invalid request body")


def test_a_lower_case_status_is_accepted(mock: Mock) -> None:
    """Scenario 7: `status:"resolved"` is RESOLVED."""
    assert mock.callback(OPEN, body("resolved"), token=None, key=key()).status_code == 200
    assert mock.exception(OPEN)["status"] == "RESOLVED"


def test_an_unknown_status_is_a_500(mock: Mock) -> None:
    """Scenario 8: `status:"CLOSED"` → 500 MTCH-0002 `an unexpected error occurred`."""
    answer = mock.callback(OPEN, body("CLOSED"), token=None, key=key())
    assert_error(answer, 500, "MTCH-0002", "an unexpected error occurred")


def test_pending_resolution_is_an_unsupported_callback_target(mock: Mock) -> None:
    """Scenario 9: OPEN → PENDING_RESOLUTION is 400 `apply callback: callback status is unsupported: ...`."""
    answer = mock.callback(OPEN, body("PENDING_RESOLUTION"), token=None, key=key())
    assert_error(answer, 400, "MTCH-0001", "apply callback: callback status is unsupported: PENDING_RESOLUTION")


def test_open_is_not_a_resolution_target(mock: Mock) -> None:
    """PENDING_RESOLUTION → OPEN is 400 with the OPEN-target message."""
    answer = mock.callback(PENDING, body("OPEN"), token=None, key=key())
    message = "apply callback: OPEN is not a valid callback resolution target: use ASSIGNED or RESOLVED"
    assert_error(answer, 400, "MTCH-0001", message)


@pytest.mark.parametrize(
    ("exception_id", "payload"),
    [(ASSIGNED, body("OPEN")), (RESOLVED, body("ASSIGNED")), (PENDING, body("ASSIGNED"))],
    ids=["ASSIGNED->OPEN", "RESOLVED->ASSIGNED", "PENDING_RESOLUTION->ASSIGNED"],
)
def test_transitions_the_table_or_the_entity_forbid_are_500s(mock: Mock, exception_id: str, payload: dict) -> None:
    """Scenario 10: ASSIGNED → OPEN, RESOLVED → ASSIGNED and PENDING_RESOLUTION → ASSIGNED are 500s."""
    answer = mock.callback(exception_id, payload, token=None, key=key())
    assert_error(answer, 500, "MTCH-0002", "an unexpected error occurred")


def test_assigning_without_an_assignee_is_refused_when_applied(mock: Mock) -> None:
    """OPEN → ASSIGNED without an assignee: 400 `apply callback: callback assignee is required`."""
    answer = mock.callback(
        OPEN, {"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "ASSIGNED"}, token=None, key=key()
    )
    assert_error(answer, 400, "MTCH-0001", "apply callback: callback assignee is required")


def test_resolved_to_resolved_updates_the_assignee(mock: Mock) -> None:
    """Scenario 10: RESOLVED → RESOLVED with a new assignee is 200 and the assignee changes."""
    assert mock.callback(RESOLVED, body("RESOLVED", assignee="new@x.io"), token=None, key=key()).status_code == 200
    assert mock.exception(RESOLVED)["assignee"] == "new@x.io"


def test_assigning_without_a_due_date_clears_it(mock: Mock) -> None:
    """Scenario 11: OPEN → ASSIGNED without dueAt after a due date was set clears it."""
    mock.callback(OPEN, body("OPEN", dueAt="2026-12-01T10:00:00Z"), token=None, key=key())
    assert mock.exception(OPEN)["dueAt"] == "2026-12-01T10:00:00Z"
    mock.callback(OPEN, body("ASSIGNED", assignee="ana"), token=None, key=key())
    assert mock.exception(OPEN)["dueAt"] is None


def test_default_notes_and_upper_cased_system(mock: Mock) -> None:
    """Scenario 12: RESOLVED without notes → `Resolved via JIRA callback`; `jira` is stored as JIRA."""
    mock.callback(OPEN, body("RESOLVED", externalSystem="jira"), token=None, key=key())
    record = mock.exception(OPEN)
    assert (record["externalSystem"], record["resolutionNotes"]) == ("JIRA", "Resolved via JIRA callback")


def test_a_blank_system_falls_back_to_the_callback_type(mock: Mock) -> None:
    """Scenario 13: `externalSystem:"   "` with `callbackType:"webhook"` → system WEBHOOK."""
    mock.callback(OPEN, body("RESOLVED", externalSystem="   ", callbackType="webhook"), token=None, key=key())
    assert mock.exception(OPEN)["externalSystem"] == "WEBHOOK"


def test_a_key_that_failed_with_404_is_processed_once_the_exception_exists(mock: Mock) -> None:
    """Scenario 14: 404, then the same key after creating the exception, is processed."""
    new_id, retry_key = str(uuid.uuid4()), key()
    assert mock.callback(new_id, body(), token=None, key=retry_key).status_code == 404
    mock.create("OPEN", tenant="11111111-1111-1111-1111-111111111111", id=new_id)
    answer = mock.callback(new_id, body(), token=None, key=retry_key)
    assert answer.status_code == 200
    assert "X-Idempotency-Replayed" not in answer.headers


def test_a_replay_ignores_the_body(mock: Mock) -> None:
    """Scenario 1: key K with RESOLVED, then K with ASSIGNED → 200 replay; the state stays RESOLVED."""
    same = key()
    mock.callback(OPEN, body("RESOLVED"), token=None, key=same)
    answer = mock.callback(OPEN, body("ASSIGNED", assignee="x"), token=None, key=same)
    assert (answer.status_code, answer.headers["X-Idempotency-Replayed"]) == (200, "true")
    assert mock.exception(OPEN)["status"] == "RESOLVED"


def test_the_second_layer_answers_a_fresh_200_for_another_principal(mock: Mock) -> None:
    """Scenario 16: the same key from another principal → 200 without the replay header and no change."""
    same = key()
    mock.callback(OPEN, body("RESOLVED"), token=None, key=same)
    version = mock.exception(OPEN)["version"]
    answer = mock.callback(OPEN, body("RESOLVED"), token=None, key=same, headers={"X-User-ID": "someone-else"})
    assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
    assert "X-Idempotency-Replayed" not in answer.headers
    assert mock.exception(OPEN)["version"] == version


def test_the_61st_callback_in_a_minute_is_rate_limited_per_system(mock: Mock) -> None:
    """Scenario 15: the 61st callback for one tenant and system → 429 MTCH-0506; another system is unaffected."""
    for _ in range(60):
        assert mock.callback(OPEN, body("OPEN"), token=None, key=key()).status_code == 200
    limited = mock.callback(OPEN, body("OPEN"), token=None, key=key())
    assert_error(limited, 429, "MTCH-0506", "callback rate limit exceeded")
    assert "Retry-After" not in limited.headers
    assert mock.callback(OPEN_2, body("OPEN", externalSystem="SERVICENOW"), token=None, key=key()).status_code == 200


def test_the_request_id_is_echoed_or_generated(mock: Mock) -> None:
    """Scenario 18: `X-Request-ID: abc` is echoed; without one a UUID is generated."""
    echoed = mock.callback(OPEN, body(), token=None, key=key(), headers={"X-Request-ID": "abc"})
    assert echoed.headers["X-Request-ID"] == "abc"
    generated = mock.callback(OPEN, body(), token=None, key=key())
    assert uuid.UUID(generated.headers["X-Request-ID"])


def test_a_body_over_the_limit_is_413(mock: Mock) -> None:
    """Scenario 19: a body over the limit → 413 MTCH-0010."""
    answer = mock.callback(
        OPEN,
        token=None,
        key=key(),
        content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_error(answer, 413, "MTCH-0010", "The request payload is too large.")


def test_a_malformed_payload_date_is_a_500(mock: Mock) -> None:
    """A payload `due_at` that is no date is parsed after the checks: 500 MTCH-0002 (a top-level one is 400)."""
    answer = mock.callback(
        OPEN, body("ASSIGNED", assignee="a", payload={"due_at": "not-a-date"}), token=None, key=key()
    )
    assert_error(answer, 500, "MTCH-0002", "an unexpected error occurred")


def test_a_null_payload_counts_as_absent(mock: Mock) -> None:
    """`"payload": null` is accepted, as no payload."""
    answer = mock.callback(OPEN, body("ASSIGNED", assignee="a", payload=None), token=None, key=key())
    assert answer.status_code == 200
    assert mock.exception(OPEN)["status"] == "ASSIGNED"


def test_the_same_key_on_another_spelling_of_the_path_is_caught_by_the_second_layer(mock: Mock) -> None:
    """Section 4.4: an upper-case id misses the first layer; the second answers a fresh 200 and changes nothing."""
    same = key()
    mock.callback(OPEN, body("RESOLVED"), token=None, key=same)
    version = mock.exception(OPEN)["version"]
    answer = mock.callback(OPEN.upper(), body("RESOLVED"), token=None, key=same)
    assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
    assert "X-Idempotency-Replayed" not in answer.headers
    assert mock.exception(OPEN)["version"] == version


def test_a_key_in_flight_is_409_without_retry_after(mock: Mock) -> None:
    """Scenario 2: a concurrent request with the key in flight gets 409 MTCH-0018, and Matcher sends no Retry-After."""
    same = key()

    async def race() -> tuple[int, int, dict[str, str]]:
        first = asyncio.create_task(
            mock.send_callback(OPEN, body(), token=None, key=same, headers={"X-Mock-Fault": "slow-processing=300"})
        )
        await wait_until_in_flight(mock, same)
        second = await mock.send_callback(OPEN, body(), token=None, key=same)
        return (await first).status_code, second.status_code, dict(second.headers)

    first, second, headers = mock.run(race())
    assert (first, second) == (200, 409)
    assert "retry-after" not in headers


async def wait_until_in_flight(mock: Mock, key: str) -> None:
    """Poll the admin API until `key` is held in flight (bounded)."""
    for _ in range(500):
        answer = await mock.http.get("/_mock/idempotency", headers={"Authorization": "Bearer kit-admin-token"})
        if any(key in r["scopeKey"] and r["state"] == "in_flight" for r in answer.json()):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"key {key} never went in flight")


def test_with_auth_on_a_missing_token_is_401() -> None:
    """Scenario 17: with auth configured, no token → 401 `missing authorization token`; a bad one is invalid."""
    with Mock(Settings(profile="matcher", auth=True)) as mock:
        assert_error(
            mock.callback(OPEN, body(), token=None, key=key()), 401, "MTCH-0003", "missing authorization token"
        )
        answer = mock.callback(OPEN, body(), token="garbled", key=key())
        assert_error(answer, 401, "MTCH-0003", "invalid authorization token")


def test_with_auth_on_a_token_without_the_permission_gets_plain_text_forbidden() -> None:
    """lib-auth's RBAC denial is a plain-text 403 `Forbidden`, not the JSON body."""
    with Mock(Settings(profile="matcher", auth=True)) as mock:
        answer = mock.callback(OPEN, body(), token="acme-viewer-token", key=key())
        assert (answer.status_code, answer.text) == (403, "Forbidden")
        assert answer.headers["content-type"].startswith("text/plain")


def test_the_published_profile_is_unchanged_by_the_matcher_one() -> None:
    """The default profile still answers 409 for a forbidden transition and says `false` on first processing."""
    with Mock() as mock:
        first = mock.callback("1a010000-0000-4000-8000-000100000001", body(), key=key())
        assert first.headers["X-Idempotency-Replayed"] == "false"
        refused = mock.callback("1a310000-0000-4000-8000-000100030001", body("ASSIGNED"), key=key())
        assert_error(refused, 409, "MTCH-0507")


def test_the_derived_spec_says_it_is_derived_and_not_the_source_of_truth() -> None:
    """The matcher profile's spec names openapi.yaml as its source, and never calls itself the source of truth."""
    derived = derive_spec(load_spec(), MATCHER, auth=False)
    description = derived["info"]["description"]
    assert "Derived by the callback contract kit from openapi.yaml" in description
    assert "single source of truth" not in description
    assert "securitySchemes" not in derived["components"]  # auth off: no scheme declared that nothing uses
