"""Replays of keys the proxy holds no first answer for (lost, timed out, expired, refreshed JWT): no violation."""

from __future__ import annotations

import asyncio
import io
import json
import time
from contextlib import redirect_stdout

from callback_kit.cli import main
from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.contract.exchange import Exchange
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.middleware.drop_connection import DropConnectionMiddleware
from callback_kit.mock_server.proxy.judge import judge
from callback_kit.mock_server.proxy.ledger import Entry, Ledger, credential_of
from callback_kit.mock_server.stores.memory import MemoryStore
from tests.broken_servers import mock
from tests.mock_client import ACME, make_jwt
from tests.proxy_support import ADMIN, OPEN_ID, RESOLVE, Proxied, proxied

SPEC = load_spec()
CONTRACT = idempotency_contract(SPEC)
PATH = f"/v1/exceptions/{OPEN_ID}/callback"
BODY = json.dumps(RESOLVE).encode()
IDEMPOTENCY = frozenset({"says_not_replayed", "is_replay_of", "not_replayed"})


def report_exit(both: Proxied) -> int:
    with redirect_stdout(io.StringIO()):
        return main(["report", "--base-url", str(both.proxy.base_url)], environ={})


def clauses(answer: Exchange, entry: Entry) -> list[str]:
    """The idempotency checks `answer` breaks (the synthetic answers here carry no X-Request-Id)."""
    return [v.check for v in judge(answer, entry, SPEC, CONTRACT) if v.check in IDEMPOTENCY]


def exchange(status: int, replayed: str, body: bytes = b'{"status":"accepted"}') -> Exchange:
    headers = (("content-type", "application/json"), ("x-idempotency-replayed", replayed))
    request = (("content-type", "application/json"), ("x-idempotency-key", "k-504"))
    return Exchange("test", "POST", PATH, request, BODY, status, "", headers, body, 0.0, 0.0)


def test_a_retry_after_a_lost_answer_replayed_upstream_is_clean_and_kept_as_the_stored_answer() -> None:
    """The upstream applied the first request but its answer was lost (502): the replayed retry is no violation,
    and a third retry is compared with that replay."""
    with proxied(DropConnectionMiddleware(mock())) as both:  # as `serve` wraps it: the fault drops the connection
        rule = {"action": "lost_response", "match": {"externalSystem": "JIRA"}, "times": 1}
        assert both.upstream.post("/_mock/faults", headers=ADMIN, json=rule).status_code == 201
        first = both.callback(key="unheld-1")
        retry = both.callback(key="unheld-1")
        third = both.callback(key="unheld-1")
        assert (first.status_code, first.json()["code"]) == (502, "MTCH-0021"), first.text
        assert (retry.status_code, retry.headers["X-Idempotency-Replayed"]) == (200, "true")
        assert third.content == retry.content
        assert both.violations() == []
        assert any("unheld-1" in r["scopeKey"] for r in both.proxy.get("/_mock/idempotency", headers=ADMIN).json())
        assert report_exit(both) == 0


def test_a_replay_after_a_timed_out_forward_is_not_judged_as_a_first_processing() -> None:
    """A 504 frees the key; the retry the upstream replays is kept, and the next retry must match it."""

    async def scenario() -> tuple[list[str], list[str], str]:
        store = MemoryStore()
        ledger = Ledger(store, Clock(store, lambda: 1_000_000.0), CONTRACT)
        timed_out = await ledger.open("bearer:abc", "POST", PATH, "k-504", BODY)
        await ledger.close(timed_out, exchange(504, ""))
        retry = await ledger.open("bearer:abc", "POST", PATH, "k-504", BODY)
        replay = exchange(200, "true")
        found = clauses(replay, retry)
        await ledger.close(retry, replay)
        third = await ledger.open("bearer:abc", "POST", PATH, "k-504", BODY)
        other = clauses(exchange(200, "true", b'{"other":1}'), third)
        return found, other, third.seen

    found, other, seen = asyncio.run(scenario())
    assert (found, seen) == ([], "stored")
    assert other == ["is_replay_of"]


def test_a_refreshed_jwt_names_the_same_caller_and_its_retry_is_clean() -> None:
    """Another exp, the same tenant and subject: one caller, so the replay is judged against the stored answer."""
    first, refreshed = make_jwt(exp=int(time.time()) + 600), make_jwt(exp=int(time.time()) + 1200)
    assert first != refreshed
    assert credential_of(f"Bearer {first}") == credential_of(f"Bearer {refreshed}") != credential_of("Bearer other")
    assert credential_of(f"Bearer {first}") == f'jwt:["{ACME}","jwt-robot"]'
    with proxied(mock()) as both:
        one = both.callback(key="jwt-1", Authorization=f"Bearer {first}")
        two = both.callback(key="jwt-1", Authorization=f"Bearer {refreshed}")
        assert (one.headers["X-Idempotency-Replayed"], two.headers["X-Idempotency-Replayed"]) == ("false", "true")
        assert both.violations() == []


def test_a_malformed_jwt_falls_back_to_the_credentials_digest() -> None:
    """Three dot-separated parts that are not a JWT: named by the scheme and a digest, as any token."""
    assert credential_of("Bearer a.b.c").startswith("bearer:")


def test_a_replay_after_the_proxys_clock_passed_the_ttl_is_clean() -> None:
    """The proxy's stored answer expired (its clock shifted), the upstream's did not: its replay is no violation."""
    with proxied(mock()) as both:
        assert both.callback(key="ttl-1").headers["X-Idempotency-Replayed"] == "false"
        moved = both.proxy.put("/_mock/clock", headers=ADMIN, json={"offsetSeconds": CONTRACT.completed_ttl + 60})
        assert moved.status_code == 200, moved.text
        retry = both.callback(key="ttl-1")
        assert (retry.status_code, retry.headers["X-Idempotency-Replayed"]) == (200, "true")
        assert both.violations() == []


def test_a_first_processing_that_says_nothing_is_still_named() -> None:
    """The exemption is for replays only: a first answer without 'false' still breaks says_not_replayed."""

    async def scenario() -> list[str]:
        store = MemoryStore()
        ledger = Ledger(store, Clock(store, lambda: 1_000_000.0), CONTRACT)
        entry = await ledger.open("bearer:abc", "POST", PATH, "k-1", BODY)
        return clauses(exchange(200, ""), entry)

    assert asyncio.run(scenario()) == ["says_not_replayed"]
