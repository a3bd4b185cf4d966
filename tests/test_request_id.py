"""`X-Request-Id` (`mock_server/request_id.py`): echoed sanitised, generated when absent, on every response."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from callback_kit.mock_server.errors import StoreUnavailable
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.stores.memory import MemoryStore
from callback_kit.mock_server.types import Completion, ExceptionRecord, Transition
from tests.mock_client import (
    ACME_OPEN,
    ACME_RESOLVED,
    ACME_VIEWER_TOKEN,
    UNKNOWN_ID,
    Mock,
    assert_error,
    body,
)

TRACE = "trace-7f3a9c"


@pytest.fixture
def mock() -> Iterator[Mock]:
    """A fresh mock with the default settings."""
    with Mock() as running:
        yield running


def traced(request_id: str | None) -> dict[str, str]:
    """The headers that send `request_id` (none for None)."""
    return {} if request_id is None else {"X-Request-Id": request_id}


def answered_id(response: httpx.Response) -> str:
    """The one `X-Request-Id` of a response."""
    values = response.headers.get_list("x-request-id")
    assert len(values) == 1, f"expected one X-Request-Id, got {values}"
    return values[0]


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


# --- echo, generation and sanitising ------------------------------------------------------------------------


def test_client_id_is_echoed(mock: Mock) -> None:
    """A well-formed id comes back unchanged."""
    assert answered_id(mock.callback(ACME_OPEN, body(), headers=traced(TRACE))) == TRACE


def test_absent_id_is_replaced_by_a_uuid(mock: Mock) -> None:
    """Without an id the response carries a generated UUID."""
    assert is_uuid(answered_id(mock.callback(ACME_OPEN, body())))


def test_generated_ids_differ_between_requests(mock: Mock) -> None:
    """Each request without an id gets its own."""
    first = answered_id(mock.callback(ACME_RESOLVED, body()))
    second = answered_id(mock.callback(ACME_RESOLVED, body()))
    assert first != second


def test_control_characters_are_removed(mock: Mock) -> None:
    """Control characters (tab and DEL included) are dropped from the echoed id."""
    assert answered_id(mock.callback(ACME_OPEN, body(), headers=traced("tr\x01ace\x7f-\t7\x1f"))) == "trace-7"


def test_semicolons_and_pipes_are_removed(mock: Mock) -> None:
    """`;` and `|` are dropped from the echoed id."""
    assert answered_id(mock.callback(ACME_OPEN, body(), headers=traced("a;b|c;;d||"))) == "abcd"


def test_surrounding_white_space_is_trimmed(mock: Mock) -> None:
    """Spaces around the id are not part of it."""
    assert answered_id(mock.callback(ACME_OPEN, body(), headers=traced("  trace 1  "))) == "trace 1"


@pytest.mark.parametrize("raw", [";|;", "\x01\x02", "   "], ids=["separators", "controls", "spaces"])
def test_id_with_nothing_left_after_sanitising_is_replaced_by_a_uuid(mock: Mock, raw: str) -> None:
    """An id made only of removed characters is answered with a generated UUID."""
    assert is_uuid(answered_id(mock.callback(ACME_OPEN, body(), headers=traced(raw))))


def test_id_of_128_characters_is_echoed_whole(mock: Mock) -> None:
    """128 characters is the longest id the contract allows, and it comes back whole."""
    request_id = "r" * 127 + "z"
    response = mock.callback(ACME_OPEN, body(), headers=traced(request_id))
    assert response.status_code == 200
    assert answered_id(response) == request_id


def test_id_longer_than_128_is_refused_with_400(mock: Mock) -> None:
    """The spec caps the id at 128 characters: a longer one is 400 `MTCH-0001` naming the header."""
    error = assert_error(mock.callback(ACME_OPEN, body(), headers=traced("r" * 129)), 400, "MTCH-0001")
    assert error["details"]["field"] == "X-Request-Id"


def test_refused_long_id_is_echoed_cut_to_128(mock: Mock) -> None:
    """The 400 for a long id still carries the id, cut to its first 128 characters."""
    request_id = "".join(f"{n:04d}" for n in range(50))
    assert answered_id(mock.callback(ACME_OPEN, body(), headers=traced(request_id))) == request_id[:128]


def test_long_id_is_cut_after_unsafe_characters_are_removed(mock: Mock) -> None:
    """Removed characters do not count towards the 128 kept."""
    response = mock.callback(ACME_OPEN, body(), headers=traced(";" * 10 + "a" * 130))
    assert answered_id(response) == "a" * 128


def test_empty_id_breaks_the_spec_and_is_answered_with_a_uuid(mock: Mock) -> None:
    """An empty id is under the spec's minimum length (400), answered with a generated UUID."""
    response = mock.callback(ACME_OPEN, body(), headers=traced(""))
    assert_error(response, 400, "MTCH-0001")
    assert is_uuid(answered_id(response))


def test_client_id_replaces_nothing_else(mock: Mock) -> None:
    """Sending an id does not change the answer: the same body as without one."""
    assert mock.callback(ACME_OPEN, body(), headers=traced(TRACE)).content == b'{"status":"accepted"}'


# --- present on every response ------------------------------------------------------------------------------


class FailingStore(MemoryStore):
    """A memory store whose `apply` fails with `error`."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def apply(
        self, tenant: str, exception_id: str, transition: Transition, completion: Completion | None
    ) -> ExceptionRecord:
        raise self.error


def answer_200(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.callback(ACME_OPEN, body(), headers=traced(request_id))


def answer_400(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.callback(ACME_OPEN, {"status": "RESOLVED"}, headers=traced(request_id))


def answer_401(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.callback(ACME_OPEN, body(), token=None, headers=traced(request_id))


def answer_403(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.callback(ACME_OPEN, body(), token=ACME_VIEWER_TOKEN, headers=traced(request_id))


def answer_404(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.callback(UNKNOWN_ID, body(), headers=traced(request_id))


def answer_404_route(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.request("GET", "/v1/no-such-route", headers=traced(request_id))


def answer_405(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.request("GET", f"/v1/exceptions/{ACME_OPEN}/callback", headers=traced(request_id))


def answer_409(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.callback(ACME_RESOLVED, body("OPEN"), headers=traced(request_id))


def answer_413_declared(request_id: str | None) -> httpx.Response:
    with Mock(Settings(max_body_bytes=64)) as mock:
        return mock.callback(ACME_OPEN, body(resolutionNotes="n" * 100), headers=traced(request_id))


def answer_413_chunked(request_id: str | None) -> httpx.Response:
    content = json.dumps(body(resolutionNotes="n" * 100)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 32):
            yield content[start : start + 32]

    with Mock(Settings(max_body_bytes=64)) as mock:
        headers = {**traced(request_id), "Content-Type": "application/json"}
        return mock.callback(ACME_OPEN, content=chunks(), headers=headers)


def answer_429(request_id: str | None) -> httpx.Response:
    with Mock(Settings(rate_limit_per_minute=1)) as mock:
        mock.callback(ACME_RESOLVED, body())
        return mock.callback(ACME_RESOLVED, body(), headers=traced(request_id))


def answer_500(request_id: str | None) -> httpx.Response:
    with Mock(store=FailingStore(RuntimeError("the store broke"))) as mock:
        return mock.callback(ACME_OPEN, body(), headers=traced(request_id))


def answer_503(request_id: str | None) -> httpx.Response:
    with Mock(store=FailingStore(StoreUnavailable())) as mock:
        return mock.callback(ACME_OPEN, body(), headers=traced(request_id))


def answer_replay(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        mock.callback(ACME_OPEN, body(), key="replayed-key")
        return mock.callback(ACME_OPEN, body(), key="replayed-key", headers=traced(request_id))


def answer_admin(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.admin("GET", "/clock", headers=traced(request_id))


def answer_admin_401(request_id: str | None) -> httpx.Response:
    with Mock() as mock:
        return mock.admin("GET", "/clock", token=None, headers=traced(request_id))


SCENARIOS: list[Any] = [
    pytest.param(answer_200, 200, id="200"),
    pytest.param(answer_400, 400, id="400"),
    pytest.param(answer_401, 401, id="401"),
    pytest.param(answer_403, 403, id="403"),
    pytest.param(answer_404, 404, id="404-exception"),
    pytest.param(answer_404_route, 404, id="404-route"),
    pytest.param(answer_405, 405, id="405"),
    pytest.param(answer_409, 409, id="409"),
    pytest.param(answer_413_declared, 413, id="413-content-length"),
    pytest.param(answer_413_chunked, 413, id="413-chunked"),
    pytest.param(answer_429, 429, id="429"),
    pytest.param(answer_500, 500, id="500"),
    pytest.param(answer_503, 503, id="503"),
    pytest.param(answer_replay, 200, id="replay"),
    pytest.param(answer_admin, 200, id="admin"),
    pytest.param(answer_admin_401, 401, id="admin-401"),
]


@pytest.mark.parametrize(("answer", "status"), SCENARIOS)
def test_every_response_carries_the_request_id(answer: Callable[[str | None], httpx.Response], status: int) -> None:
    """Successes, replays, every error status and the admin API all echo exactly one X-Request-Id."""
    response = answer(TRACE)
    assert response.status_code == status
    assert answered_id(response) == TRACE


@pytest.mark.parametrize(
    "answer", [answer_404_route, answer_405, answer_413_chunked, answer_500], ids=["404", "405", "413", "500"]
)
def test_responses_without_a_client_id_carry_a_generated_uuid(answer: Callable[[str | None], httpx.Response]) -> None:
    """Errors raised outside the callback handler also get a generated UUID when the client sent none."""
    assert is_uuid(answered_id(answer(None)))
