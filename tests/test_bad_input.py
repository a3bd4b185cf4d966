"""Every class of bad input (`mock_server/validation.py`, `body_limit.py`, the idempotency key checks): each
is a 4xx in the contract's JSON error body, never a 5xx, and changes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from callback_kit.mock_server.settings import Settings
from tests.mock_client import ACME_OPEN, Mock, assert_error, body

JSON_TYPE = {"Content-Type": "application/json"}
LIMIT = 256


@pytest.fixture
def mock() -> Iterator[Mock]:
    """A fresh mock with the default settings."""
    with Mock() as running:
        yield running


def encoded(data: Any) -> bytes:
    return json.dumps(data).encode()


def assert_bad_request(response: Any, field: str | None = None) -> dict[str, Any]:
    """400 `MTCH-0001`, naming `field` in `details` when given."""
    error = assert_error(response, 400, "MTCH-0001")
    if field is not None:
        assert error["details"]["field"] == field, error
    return error


def without(name: str) -> dict[str, Any]:
    data = body("RESOLVED")
    del data[name]
    return data


def deeply_nested(depth: int) -> bytes:
    """A valid callback whose payload holds `depth` nested arrays."""
    head = encoded(body("RESOLVED"))[:-1]
    return head + b', "payload": {"deep": ' + b"[" * depth + b"]" * depth + b"}}"


# --- the body as bytes --------------------------------------------------------------------------------------


RAW_BODIES = {
    "non-utf8": b'{"externalSystem": "JIRA\xff\xfe", "externalIssueId": "R-1", "status": "RESOLVED"}',
    "latin1": '{"externalSystem": "JIRA", "externalIssueId": "Ré-1", "status": "RESOLVED"}'.encode("latin-1"),
    "truncated": b'{"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOL',
    "trailing-comma": b'{"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "RESOLVED",}',
    "single-quotes": b"{'externalSystem': 'JIRA', 'externalIssueId': 'R-1', 'status': 'RESOLVED'}",
    "two-documents": encoded(body()) + encoded(body()),
    "not-json": b"externalSystem=JIRA&status=RESOLVED",
    "array": b"[]",
    "array-of-body": encoded([body()]),
    "string": b'"RESOLVED"',
    "null": b"null",
    "number": b"42",
    "boolean": b"true",
    "empty": b"",
    "white-space": b" \r\n\t ",
    "deeply-nested": deeply_nested(100_000),
    "huge-integer": encoded(body())[:-1] + b', "payload": {"n": ' + b"9" * 5000 + b"}}",
}


@pytest.mark.parametrize("content", list(RAW_BODIES.values()), ids=list(RAW_BODIES))
def test_body_that_is_not_a_json_object_is_400(mock: Mock, content: bytes) -> None:
    """A body that is not UTF-8 JSON holding one object is 400 `MTCH-0001`."""
    assert_bad_request(mock.callback(ACME_OPEN, content=content, headers=JSON_TYPE))


@pytest.mark.parametrize("name", ["non-utf8", "truncated", "array-of-body", "empty", "deeply-nested"])
def test_body_that_is_not_a_json_object_changes_nothing(mock: Mock, name: str) -> None:
    """A refused body leaves the exception as it was."""
    before = mock.exception(ACME_OPEN)
    mock.callback(ACME_OPEN, content=RAW_BODIES[name], headers=JSON_TYPE)
    assert mock.exception(ACME_OPEN) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_literals_are_400(mock: Mock, literal: str) -> None:
    """`NaN` and `Infinity` are not JSON, even inside `payload`."""
    content = encoded(body())[:-1] + f', "payload": {{"score": {literal}}}}}'.encode()
    assert_bad_request(mock.callback(ACME_OPEN, content=content, headers=JSON_TYPE))


@pytest.mark.parametrize(
    ("status", "field"), [("RESOLVED", "externalIssueId"), ("RESOLVED", "resolutionNotes"), ("ASSIGNED", "assignee")]
)
def test_lone_surrogate_escape_never_leads_to_a_server_error(mock: Mock, status: str, field: str) -> None:
    """A string with an unpaired surrogate escape is refused, or stored in a form the mock can show again."""
    content = encoded(body(status))[:-1] + f', "{field}": "ab\\ud800cd"}}'.encode()
    response = mock.callback(ACME_OPEN, content=content, headers=JSON_TYPE)
    assert response.status_code in (200, 400)
    assert mock.admin("GET", f"/exceptions/{ACME_OPEN}").status_code == 200


# --- the content type ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded", "application/vnd.api+json"]
)
def test_body_of_another_content_type_is_400(mock: Mock, content_type: str) -> None:
    """Only application/json is accepted; another type is 400 naming Content-Type."""
    response = mock.callback(ACME_OPEN, content=encoded(body()), headers={"Content-Type": content_type})
    assert_bad_request(response, "Content-Type")


def test_body_without_content_type_is_400(mock: Mock) -> None:
    """A JSON body without a Content-Type is 400 naming Content-Type."""
    assert_bad_request(mock.callback(ACME_OPEN, content=encoded(body())), "Content-Type")


def test_json_content_type_with_a_charset_is_accepted(mock: Mock) -> None:
    """`application/json; charset=utf-8` is application/json."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert mock.callback(ACME_OPEN, content=encoded(body()), headers=headers).status_code == 200


@pytest.mark.parametrize("content_type", ["Application/JSON", "APPLICATION/JSON", "application/JSON"])
def test_json_content_type_in_other_letter_case_is_accepted(mock: Mock, content_type: str) -> None:
    """Media types are case-insensitive (RFC 9110 8.3.1): a valid body sent as `Application/JSON` is accepted."""
    response = mock.callback(ACME_OPEN, content=encoded(body()), headers={"Content-Type": content_type})
    assert response.status_code == 200


@pytest.mark.parametrize("content", [encoded({"status": "RESOLVED"}), b"[]", b"{"], ids=["schema", "array", "syntax"])
def test_invalid_body_in_other_letter_case_content_type_is_400(mock: Mock, content: bytes) -> None:
    """A bad body sent as `Application/JSON` is validated like any JSON body: 400, never 500."""
    assert_bad_request(mock.callback(ACME_OPEN, content=content, headers={"Content-Type": "Application/JSON"}))


def test_json_content_type_with_white_space_before_parameters_is_accepted(mock: Mock) -> None:
    """`application/json ; charset=utf-8` is application/json (optional white space around `;`)."""
    headers = {"Content-Type": "application/json ; charset=utf-8"}
    assert mock.callback(ACME_OPEN, content=encoded(body()), headers=headers).status_code == 200


# --- the size limit -----------------------------------------------------------------------------------------


def padded_body(size: int) -> bytes:
    """A valid callback body of exactly `size` bytes."""
    bare = encoded(body(resolutionNotes=""))
    content = encoded(body(resolutionNotes="n" * (size - len(bare))))
    assert len(content) == size
    return content


async def in_chunks(content: bytes, size: int = 40) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


def test_body_over_the_limit_with_content_length_is_413() -> None:
    """A declared Content-Length over `max_body_bytes` is 413 `MTCH-0010`."""
    with Mock(Settings(max_body_bytes=LIMIT)) as mock:
        response = mock.callback(ACME_OPEN, content=padded_body(LIMIT + 1), headers=JSON_TYPE)
        assert_error(response, 413, "MTCH-0010", "The request payload is too large.")


def test_chunked_body_over_the_limit_is_413() -> None:
    """A chunked body (no Content-Length) that grows over `max_body_bytes` is 413 `MTCH-0010`."""
    with Mock(Settings(max_body_bytes=LIMIT)) as mock:
        response = mock.callback(ACME_OPEN, content=in_chunks(padded_body(LIMIT + 1)), headers=JSON_TYPE)
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "MTCH-0010", "The request payload is too large.")


def test_body_exactly_at_the_limit_is_accepted() -> None:
    """`max_body_bytes` itself is allowed."""
    with Mock(Settings(max_body_bytes=LIMIT)) as mock:
        assert mock.callback(ACME_OPEN, content=padded_body(LIMIT), headers=JSON_TYPE).status_code == 200


def test_chunked_body_exactly_at_the_limit_is_accepted() -> None:
    """A chunked body of exactly `max_body_bytes` is read whole and accepted."""
    with Mock(Settings(max_body_bytes=LIMIT)) as mock:
        response = mock.callback(ACME_OPEN, content=in_chunks(padded_body(LIMIT)), headers=JSON_TYPE)
        assert response.status_code == 200


def test_body_over_the_limit_changes_nothing() -> None:
    """A body refused for its size leaves the exception as it was."""
    with Mock(Settings(max_body_bytes=LIMIT)) as mock:
        before = mock.exception(ACME_OPEN)
        mock.callback(ACME_OPEN, content=in_chunks(padded_body(LIMIT + 1)), headers=JSON_TYPE)
        assert mock.exception(ACME_OPEN) == before


# --- fields -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["externalSystem", "externalIssueId", "status"])
def test_missing_required_field_is_400(mock: Mock, name: str) -> None:
    """Each required field, when absent, is 400 naming it with the rule `required`."""
    error = assert_bad_request(mock.callback(ACME_OPEN, without(name)), name)
    assert error["details"]["rule"] == "required"


@pytest.mark.parametrize("name", ["externalSystem", "externalIssueId"])
@pytest.mark.parametrize("value", ["", "   ", "\t\n", " \r\f\v "], ids=["empty", "spaces", "tab-newline", "mixed"])
def test_blank_required_field_is_400(mock: Mock, name: str, value: str) -> None:
    """An empty or white-space-only system or issue id is 400 naming the field."""
    assert_bad_request(mock.callback(ACME_OPEN, body("RESOLVED", **{name: value})), name)


@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "spaces"])
def test_blank_status_is_400(mock: Mock, value: str) -> None:
    """An empty or blank status is 400 naming `status`."""
    assert_bad_request(mock.callback(ACME_OPEN, body(value)), "status")


@pytest.mark.parametrize("value", ["CLOSED", "DONE", "IN_PROGRESS", "resolved", "Assigned", " RESOLVED "])
def test_status_outside_the_enum_is_400(mock: Mock, value: str) -> None:
    """A status that is not exactly one of the four (case and spaces included) is 400 `enum`."""
    error = assert_bad_request(mock.callback(ACME_OPEN, body(value)), "status")
    assert error["details"]["rule"] == "enum"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", 5),
        ("status", None),
        ("status", ["RESOLVED"]),
        ("externalSystem", 123),
        ("externalSystem", None),
        ("externalIssueId", {"id": "R-1"}),
        ("externalIssueId", True),
        ("callbackType", 1),
        ("resolutionNotes", False),
        ("assignee", 7),
        ("dueAt", 1767225600),
        ("dueAt", None),
        ("updatedAt", []),
        ("payload", []),
        ("payload", "text"),
        ("payload", None),
    ],
)
def test_field_of_the_wrong_type_is_400(mock: Mock, name: str, value: Any) -> None:
    """A field of another JSON type is 400 naming the field."""
    assert_bad_request(mock.callback(ACME_OPEN, {**body("RESOLVED"), name: value}), name)


@pytest.mark.parametrize(
    ("name", "value"),
    [("assignee", 5), ("resolution_notes", 1), ("due_at", True), ("updatedAt", {})],
)
def test_payload_key_of_the_wrong_type_is_400(mock: Mock, name: str, value: Any) -> None:
    """A fallback key of `payload` with a non-string value is 400 naming `payload.<key>`."""
    assert_bad_request(mock.callback(ACME_OPEN, body("RESOLVED", payload={name: value})), f"payload.{name}")


@pytest.mark.parametrize("name", ["externalSystem", "externalIssueId", "callbackType", "assignee"])
def test_field_longer_than_255_characters_is_400(mock: Mock, name: str) -> None:
    """The spec caps these fields at 255 characters."""
    assert_bad_request(mock.callback(ACME_OPEN, body("ASSIGNED", **{name: "x" * 256})), name)


def test_payload_assignee_longer_than_255_characters_is_400(mock: Mock) -> None:
    """`payload.assignee` has the same 255-character cap."""
    response = mock.callback(ACME_OPEN, body("RESOLVED", payload={"assignee": "x" * 256}))
    assert_bad_request(response, "payload.assignee")


BAD_DATES = [
    "2026-01-20",
    "not-a-date",
    "2026-13-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-01-20T25:00:00Z",
    "2026-01-20T10:00:00",
    "20260120T100000Z",
    "",
]


@pytest.mark.parametrize("name", ["dueAt", "updatedAt"])
@pytest.mark.parametrize("value", BAD_DATES)
def test_malformed_date_time_is_400(mock: Mock, name: str, value: str) -> None:
    """A top-level date-time that is not RFC 3339 is 400 naming the field with the rule `format`."""
    error = assert_bad_request(mock.callback(ACME_OPEN, body("ASSIGNED", **{name: value})), name)
    assert error["details"]["rule"] == "format"


@pytest.mark.parametrize("name", ["dueAt", "updatedAt"])
def test_date_time_with_a_trailing_newline_is_400(mock: Mock, name: str) -> None:
    """A newline after an RFC 3339 date-time makes it something else: 400 naming the field."""
    assert_bad_request(mock.callback(ACME_OPEN, body("ASSIGNED", **{name: "2026-12-01T18:00:00Z\n"})), name)


@pytest.mark.parametrize("name", ["due_at", "dueAt", "updated_at", "updatedAt"])
@pytest.mark.parametrize("value", ["2026-01-20", "2026-13-01T00:00:00Z"])
def test_malformed_payload_date_time_is_400(mock: Mock, name: str, value: str) -> None:
    """A malformed date-time among the payload's fallbacks is 400 too (the reference answers 500)."""
    assert_bad_request(mock.callback(ACME_OPEN, body("ASSIGNED", payload={name: value})))


@pytest.mark.parametrize(
    "fields",
    [{}, {"assignee": ""}, {"assignee": "   "}, {"payload": {}}, {"payload": {"assignee": " "}}],
    ids=["absent", "empty", "blank", "empty-payload", "blank-payload"],
)
def test_assignment_without_an_assignee_is_400(mock: Mock, fields: dict[str, Any]) -> None:
    """Status ASSIGNED needs a non-blank assignee, top-level or in `payload`: 400 naming `assignee`."""
    request = {"externalSystem": "JIRA", "externalIssueId": "R-1", "status": "ASSIGNED", **fields}
    assert_bad_request(mock.callback(ACME_OPEN, request), "assignee")


def test_unknown_fields_are_ignored(mock: Mock) -> None:
    """Fields the spec does not name do not make a body invalid."""
    response = mock.callback(ACME_OPEN, body("RESOLVED", priority="P1", tags=["a"], payload={"extra": {"x": 1}}))
    assert response.status_code == 200


# --- the path -----------------------------------------------------------------------------------------------


def test_nil_uuid_is_400_exception_id_required(mock: Mock) -> None:
    """The nil UUID is not an exception id: 400 `exception id is required`."""
    response = mock.callback("00000000-0000-0000-0000-000000000000", body())
    assert_error(response, 400, "MTCH-0001", "exception id is required")


@pytest.mark.parametrize(
    "exception_id",
    [
        "not-a-uuid",
        "1a010000000040008000000100000001",
        "1a010000-0000-4000-8000-00010000000",
        "1a010000-0000-4000-8000-0001000000011",
        "1g010000-0000-4000-8000-000100000001",
        "urn:uuid:1a010000-0000-4000-8000-000100000001",
        "12345",
    ],
)
def test_exception_id_that_is_not_a_uuid_is_400(mock: Mock, exception_id: str) -> None:
    """An exception id that is not a hyphenated UUID is 400 naming `exceptionId`."""
    assert_bad_request(mock.callback(exception_id, body()), "exceptionId")


# --- idempotency key headers --------------------------------------------------------------------------------


BAD_KEYS = ["k" * 129, "a.b", "bad key!", "", "key/with/slashes", "key@host", "ключ"]


@pytest.mark.parametrize("header", ["X-Idempotency-Key", "Idempotency-Key"])
@pytest.mark.parametrize("key", BAD_KEYS, ids=["129-chars", "dot", "space-bang", "empty", "slash", "at", "cyrillic"])
def test_malformed_idempotency_key_is_400_mtch_0015(mock: Mock, header: str, key: str) -> None:
    """A key outside `^[A-Za-z0-9:_-]{1,128}$`, in either header, is 400 `MTCH-0015`."""
    response = mock.callback(ACME_OPEN, body(), headers={header: key.encode()})  # type: ignore[dict-item]
    assert_error(response, 400, "MTCH-0015")


def test_malformed_idempotency_key_changes_nothing(mock: Mock) -> None:
    """A request refused for its key is not applied."""
    before = mock.exception(ACME_OPEN)
    mock.callback(ACME_OPEN, body(), key="a.b")
    assert mock.exception(ACME_OPEN) == before


def test_idempotency_key_of_128_characters_is_accepted(mock: Mock) -> None:
    """128 characters of the allowed alphabet is the longest valid key."""
    assert mock.callback(ACME_OPEN, body(), key="Az09:_-" * 18 + "xy").status_code == 200


# --- the method ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_method_is_405_with_allow(mock: Mock, method: str) -> None:
    """Only POST is routed: another method is 405 with `Allow: POST` and the JSON error body."""
    response = mock.request(method, f"/v1/exceptions/{ACME_OPEN}/callback", headers={"Authorization": "Bearer x"})
    assert response.status_code == 405
    assert "POST" in [m.strip() for m in response.headers["allow"].split(",")]
    assert response.headers["content-type"] == "application/json"
    error = response.json()
    assert set(error) <= {"code", "title", "message", "details"}
    assert re.fullmatch(r"MTCH-[0-9]{4}", error["code"])
    assert error["title"] == "Method Not Allowed"
