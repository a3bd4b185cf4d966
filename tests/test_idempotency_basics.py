"""Idempotency keys in-process (`mock_server/idempotency.py`), as the `x-idempotency` block of the spec
states them: first use, replay, scope, failed requests, and expiry by moving the mock's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.stores.memory import MemoryStore
from callback_kit.mock_server.types import Completion, ExceptionRecord, Transition
from tests.mock_client import (
    ACME_OPEN,
    ACME_PENDING,
    ACME_RESOLVED,
    ACME_SERVICENOW_TOKEN,
    ACME_TOKEN,
    ADMIN_TOKEN,
    GLOBEX_OPEN,
    GLOBEX_TOKEN,
    UNKNOWN_ID,
    Mock,
    assert_error,
    body,
)

CONTRACT = idempotency_contract(load_spec())
REPLAYED = CONTRACT.replay_header
WAIT = 5.0  # seconds a test waits for a request to reach the store before failing (not a sleep)


@pytest.fixture
def mock() -> Iterator[Mock]:
    """A fresh mock with the default settings."""
    with Mock() as running:
        yield running


def replayed(response: httpx.Response) -> str:
    return response.headers[REPLAYED]


def test_contract_names_the_headers_these_tests_use() -> None:
    """Guard: the spec's block names the headers and the policy the tests below are written for."""
    assert CONTRACT.headers == ("X-Idempotency-Key", "Idempotency-Key")
    assert (REPLAYED, CONTRACT.on_different_body) == ("X-Idempotency-Replayed", "replay")


# --- first use and replay -----------------------------------------------------------------------------------


def test_first_request_with_a_key_is_marked_not_replayed(mock: Mock) -> None:
    """A key seen for the first time is processed: `X-Idempotency-Replayed: false`."""
    response = mock.callback(ACME_OPEN, body(), key="first-use")
    assert (response.status_code, replayed(response)) == (200, "false")


def test_request_without_a_key_is_marked_not_replayed(mock: Mock) -> None:
    """Without a key the answer still says `X-Idempotency-Replayed: false`."""
    response = mock.callback(ACME_OPEN, body())
    assert (response.status_code, replayed(response)) == (200, "false")


def test_requests_without_a_key_are_each_processed(mock: Mock) -> None:
    """Two identical requests without a key are two callbacks (no body-hash key as in the reference)."""
    mock.callback(ACME_RESOLVED, body())
    assert replayed(mock.callback(ACME_RESOLVED, body())) == "false"
    assert mock.exception(ACME_RESOLVED)["version"] == 3


def test_same_key_is_marked_replayed(mock: Mock) -> None:
    """The second request with a key is answered from the store: `X-Idempotency-Replayed: true`."""
    mock.callback(ACME_OPEN, body(), key="again")
    response = mock.callback(ACME_OPEN, body(), key="again")
    assert (response.status_code, replayed(response)) == (200, "true")


def test_replay_returns_the_stored_body_byte_for_byte(mock: Mock) -> None:
    """The replay's status, content type and body are those of the first answer."""
    first = mock.callback(ACME_OPEN, body(), key="bytes")
    second = mock.callback(ACME_OPEN, body(), key="bytes")
    assert (second.status_code, second.headers["content-type"], second.content) == (
        first.status_code,
        first.headers["content-type"],
        first.content,
    )


def test_replay_carries_its_own_request_id(mock: Mock) -> None:
    """A replay echoes the X-Request-Id of the request it answers, not the stored one."""
    mock.callback(ACME_OPEN, body(), key="traced", headers={"X-Request-Id": "first-attempt"})
    response = mock.callback(ACME_OPEN, body(), key="traced", headers={"X-Request-Id": "retry-attempt"})
    assert response.headers["x-request-id"] == "retry-attempt"


def test_replay_does_not_apply_the_callback_again(mock: Mock) -> None:
    """The exception changes once, however often the key is sent."""
    for _ in range(3):
        mock.callback(ACME_RESOLVED, body(), key="once")
    assert mock.exception(ACME_RESOLVED)["version"] == 2


def test_same_key_with_a_different_body_is_replayed(mock: Mock) -> None:
    """With the policy `replay`, a reused key with another body gets the stored answer."""
    mock.callback(ACME_OPEN, body("RESOLVED"), key="reused")
    response = mock.callback(ACME_OPEN, body("ASSIGNED"), key="reused")
    assert (response.status_code, replayed(response)) == (200, "true")


def test_same_key_with_a_different_body_leaves_the_first_outcome(mock: Mock) -> None:
    """The replayed request is not applied: the exception stays as the first body left it."""
    mock.callback(ACME_OPEN, body("RESOLVED"), key="reused")
    mock.callback(ACME_OPEN, body("ASSIGNED"), key="reused")
    assert (mock.exception(ACME_OPEN)["status"], mock.exception(ACME_OPEN)["version"]) == ("RESOLVED", 2)


def test_key_order_and_white_space_do_not_make_another_body(mock: Mock) -> None:
    """The same JSON with other key order and spacing is the same request."""
    compact = b'{"status":"RESOLVED","externalSystem":"JIRA","externalIssueId":"R"}'
    spaced = b'{ "externalIssueId": "R",\n  "externalSystem": "JIRA", "status": "RESOLVED" }'
    mock.callback(ACME_OPEN, content=compact, headers={"Content-Type": "application/json"}, key="canonical")
    response = mock.callback(ACME_OPEN, content=spaced, headers={"Content-Type": "application/json"}, key="canonical")
    assert replayed(response) == "true"


# --- the two header names -----------------------------------------------------------------------------------


def test_alias_header_alone_is_a_key(mock: Mock) -> None:
    """`Idempotency-Key` alone works like `X-Idempotency-Key`."""
    mock.callback(ACME_OPEN, body(), headers={"Idempotency-Key": "alias-only"})
    assert replayed(mock.callback(ACME_OPEN, body(), headers={"Idempotency-Key": "alias-only"})) == "true"


def test_both_header_names_share_one_key(mock: Mock) -> None:
    """A key sent first as `Idempotency-Key` is replayed when sent as `X-Idempotency-Key`."""
    mock.callback(ACME_OPEN, body(), headers={"Idempotency-Key": "shared"})
    assert replayed(mock.callback(ACME_OPEN, body(), key="shared")) == "true"


def test_same_key_in_both_headers_is_accepted(mock: Mock) -> None:
    """Both headers with one value are one key."""
    response = mock.callback(ACME_OPEN, body(), headers={"X-Idempotency-Key": "both", "Idempotency-Key": "both"})
    assert (response.status_code, replayed(response)) == (200, "false")


# --- failed requests do not keep their key ------------------------------------------------------------------


def test_key_of_a_404_is_processed_once_the_exception_exists(mock: Mock) -> None:
    """A key whose request found no exception is free again: after provisioning, it is processed."""
    assert mock.callback(UNKNOWN_ID, body(), key="not-yet").status_code == 404
    mock.admin("POST", "/exceptions", json={"id": UNKNOWN_ID, "ownerToken": ACME_TOKEN, "status": "OPEN"})
    response = mock.callback(UNKNOWN_ID, body(), key="not-yet")
    assert (response.status_code, replayed(response)) == (200, "false")


def test_key_of_a_refused_transition_is_free_again(mock: Mock) -> None:
    """A key whose callback was refused with 409 is processed when sent with an allowed transition."""
    assert mock.callback(ACME_PENDING, body("ASSIGNED"), key="retry-me").status_code == 409
    response = mock.callback(ACME_PENDING, body("RESOLVED"), key="retry-me")
    assert (response.status_code, replayed(response)) == (200, "false")


def test_key_of_a_request_refused_by_validation_is_free_again(mock: Mock) -> None:
    """A key sent with an invalid body is not taken: the same key with a valid body is processed."""
    assert mock.callback(ACME_OPEN, {"status": "RESOLVED"}, key="fix-the-body").status_code == 400
    response = mock.callback(ACME_OPEN, body(), key="fix-the-body")
    assert (response.status_code, replayed(response)) == (200, "false")


def test_key_of_a_rate_limited_request_is_free_again() -> None:
    """A key refused with 429 is processed in the next window."""
    with Mock(Settings(rate_limit_per_minute=1), clock_source=lambda: 1_800_000_000.0) as mock:
        mock.callback(ACME_RESOLVED, body())
        assert mock.callback(ACME_RESOLVED, body(), key="limited").status_code == 429
        mock.shift_clock(60)
        assert replayed(mock.callback(ACME_RESOLVED, body(), key="limited")) == "false"


def test_replay_is_not_rate_limited() -> None:
    """A replay is answered from the store and uses none of the rate budget."""
    with Mock(Settings(rate_limit_per_minute=1), clock_source=lambda: 1_800_000_000.0) as mock:
        mock.callback(ACME_RESOLVED, body(), key="budget")
        response = mock.callback(ACME_RESOLVED, body(), key="budget")
        assert (response.status_code, replayed(response)) == (200, "true")


# --- scope: tenant, principal, method, path -----------------------------------------------------------------


def test_keys_are_scoped_per_tenant(mock: Mock) -> None:
    """The same key in two tenants is two keys."""
    mock.callback(ACME_OPEN, body(), key="tenant-key", token=ACME_TOKEN)
    assert replayed(mock.callback(GLOBEX_OPEN, body(), key="tenant-key", token=GLOBEX_TOKEN)) == "false"


def test_keys_are_scoped_per_principal(mock: Mock) -> None:
    """The same key from two principals of one tenant, on one exception, is two keys."""
    mock.callback(ACME_RESOLVED, body(), key="principal-key", token=ACME_TOKEN)
    response = mock.callback(ACME_RESOLVED, body(), key="principal-key", token=ACME_SERVICENOW_TOKEN)
    assert replayed(response) == "false"
    assert mock.exception(ACME_RESOLVED)["version"] == 3


def test_keys_are_scoped_per_exception(mock: Mock) -> None:
    """The same key on two exceptions is two keys."""
    mock.callback(ACME_OPEN, body(), key="path-key")
    assert replayed(mock.callback(ACME_PENDING, body(), key="path-key")) == "false"


def test_exception_id_spelling_does_not_split_a_key(mock: Mock) -> None:
    """The exception id in upper case is the same path: the key is replayed, not applied twice."""
    mock.callback(ACME_RESOLVED, body(), key="spelling")
    assert replayed(mock.callback(ACME_RESOLVED.upper(), body(), key="spelling")) == "true"
    assert mock.exception(ACME_RESOLVED)["version"] == 2


# --- expiry on the mock's clock -----------------------------------------------------------------------------


def test_completed_key_is_replayed_until_its_ttl(mock: Mock) -> None:
    """Shortly before `completedTtlSeconds` have passed, the key is still replayed."""
    mock.callback(ACME_RESOLVED, body(), key="long-lived")
    mock.shift_clock(CONTRACT.completed_ttl - 60)
    assert replayed(mock.callback(ACME_RESOLVED, body(), key="long-lived")) == "true"


def test_completed_key_expires_after_its_ttl(mock: Mock) -> None:
    """Once `completedTtlSeconds` have passed on the mock's clock, the key is processed anew."""
    mock.callback(ACME_RESOLVED, body(), key="expiring")
    mock.shift_clock(CONTRACT.completed_ttl + 1)
    assert replayed(mock.callback(ACME_RESOLVED, body(), key="expiring")) == "false"
    assert mock.exception(ACME_RESOLVED)["version"] == 3


class HeldStore(MemoryStore):
    """A memory store whose first `apply` waits until the test lets it go: a request kept in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = asyncio.Event()
        self.go_on = asyncio.Event()
        self._held = False

    async def apply(
        self, tenant: str, exception_id: str, transition: Transition, completion: Completion | None
    ) -> ExceptionRecord:
        if not self._held:
            self._held = True
            self.reached.set()
            await self.go_on.wait()
        return await super().apply(tenant, exception_id, transition, completion)


@pytest.fixture
def held() -> Iterator[tuple[Mock, HeldStore]]:
    """A mock whose first callback stays in flight until `store.go_on` is set."""
    store = HeldStore()
    with Mock(store=store) as running:
        yield running, store


async def in_flight_then(mock: Mock, store: HeldStore, shift: float | None) -> tuple[httpx.Response, httpx.Response]:
    """Hold one keyed callback in flight, optionally move the clock, send the key again; answer both."""
    first = asyncio.ensure_future(mock.send_callback(ACME_RESOLVED, body(), key="held"))
    await asyncio.wait_for(store.reached.wait(), WAIT)
    if shift is not None:
        moved = await mock.http.put(
            "/_mock/clock", json={"offsetSeconds": shift}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert moved.status_code == 200
    second = await mock.send_callback(ACME_RESOLVED, body(), key="held")
    store.go_on.set()
    return await asyncio.wait_for(first, WAIT), second


def test_key_in_flight_is_refused_with_409(held: tuple[Mock, HeldStore]) -> None:
    """The same key while its first request is still processing is 409 `MTCH-0018` with `Retry-After`."""
    mock, store = held
    _, second = mock.run(in_flight_then(mock, store, shift=None))
    assert_error(second, CONTRACT.in_flight.status, CONTRACT.in_flight.code)
    assert second.headers["retry-after"] == str(CONTRACT.in_flight.retry_after)


def test_key_in_flight_is_processed_by_its_first_request(held: tuple[Mock, HeldStore]) -> None:
    """The request that held the key completes normally once let go."""
    mock, store = held
    first, _ = mock.run(in_flight_then(mock, store, shift=None))
    assert (first.status_code, replayed(first)) == (200, "false")


def test_key_in_flight_expires_after_its_in_flight_ttl(held: tuple[Mock, HeldStore]) -> None:
    """Once `inFlightTtlSeconds` have passed on the mock's clock, the same key is processed anew."""
    mock, store = held
    _, second = mock.run(in_flight_then(mock, store, shift=CONTRACT.in_flight_ttl + 1))
    assert (second.status_code, replayed(second)) == (200, "false")


def test_request_whose_in_flight_claim_expired_is_not_applied(held: tuple[Mock, HeldStore]) -> None:
    """The stale first request is refused with `MTCH-0018`; the callback is applied once only."""
    mock, store = held
    first, _ = mock.run(in_flight_then(mock, store, shift=CONTRACT.in_flight_ttl + 1))
    assert_error(first, 409, "MTCH-0018")
    assert mock.exception(ACME_RESOLVED)["version"] == 2
