"""The proxy's own answers (forced status, upstream down, a bad X-Mock-Fault) echo the client's X-Request-Id and are
journaled, as the mock's are."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.broken_servers import mock
from tests.live import free_port
from tests.proxy_support import ADMIN, OPEN_ID, RESOLVE, TOKEN, proxied, proxying

SENT = "client-request-7"


def journal(client: httpx.Client) -> list[dict[str, Any]]:
    answer = client.get("/_mock/journal", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def callback(client: httpx.Client, **headers: str) -> httpx.Response:
    sent = {"Authorization": f"Bearer {TOKEN}", "X-Idempotency-Key": "own-1", **headers}
    return client.post(f"/v1/exceptions/{OPEN_ID}/callback", json=RESOLVE, headers=sent)


@pytest.mark.parametrize("fault", ["status=503", "status=429;retry-after=2"])
def test_a_forced_status_echoes_the_clients_request_id(fault: str) -> None:
    """The proxy's forced 503 or 429 carries the client's X-Request-Id, and so does its journal entry."""
    with proxied(mock()) as both:
        answer = callback(both.proxy, **{"X-Request-Id": SENT, "X-Mock-Fault": fault})
        assert answer.headers["X-Request-Id"] == SENT
        assert [entry["requestId"] for entry in journal(both.proxy)] == [SENT]


def test_an_upstream_that_is_down_echoes_the_clients_request_id() -> None:
    """502 from the proxy: the client's X-Request-Id (sanitised as the mock does) in the answer and the journal."""
    with proxying(f"http://127.0.0.1:{free_port()}") as url, httpx.Client(base_url=url) as client:
        answer = callback(client, **{"X-Request-Id": f"{SENT}|"})
        other = client.get("/health", headers={"X-Request-Id": SENT})
        entries = journal(client)
    assert (answer.status_code, answer.headers["X-Request-Id"]) == (502, SENT)
    assert (other.status_code, other.headers["X-Request-Id"]) == (502, SENT)
    assert [entry["requestId"] for entry in entries] == [SENT]


def test_an_own_answer_without_a_client_id_gets_a_fresh_one() -> None:
    """No X-Request-Id sent: the proxy's answer carries one of its own, the same in the journal."""
    with proxying(f"http://127.0.0.1:{free_port()}") as url, httpx.Client(base_url=url) as client:
        answer = callback(client)
        [entry] = journal(client)
    assert answer.headers["X-Request-Id"] == entry["requestId"] != ""


def test_a_bad_fault_header_is_journaled_with_the_clients_request_id() -> None:
    """A malformed X-Mock-Fault is the proxy's 400, journaled (as the mock journals it), never forwarded."""
    with proxied(mock()) as both:
        answer = callback(both.proxy, **{"X-Request-Id": SENT, "X-Mock-Fault": "latency=nan"})
        [entry] = journal(both.proxy)
        forwarded = journal(both.upstream)
    assert (answer.status_code, answer.headers["X-Request-Id"]) == (400, SENT)
    assert (entry["requestId"], entry["status"], entry["code"], entry["violations"]) == (SENT, 400, "MTCH-0001", [])
    assert forwarded == []
