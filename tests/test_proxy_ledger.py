"""The proxy's ledger of first answers (memory store, injected clock), and how it names callers and upstreams."""

from __future__ import annotations

import asyncio

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.contract.exchange import Exchange
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.proxy.ledger import Entry, Ledger, credential_of
from callback_kit.mock_server.proxy.upstream import shown_url
from callback_kit.mock_server.stores.memory import MemoryStore

PATH = "/v1/exceptions/1a010000-0000-4000-8000-000100000001/callback"
BODY = b'{"externalSystem":"JIRA","externalIssueId":"R-1","status":"RESOLVED"}'


def ledger() -> Ledger:
    store = MemoryStore()
    return Ledger(store, Clock(store, lambda: 1_000_000.0), idempotency_contract(load_spec()))


def answer(status: int, body: bytes = b'{"status":"accepted"}') -> Exchange:
    headers = (("content-type", "application/json"),)
    return Exchange("test", "POST", PATH, (), BODY, status, "", headers, body, 0.0, 0.0)


async def opened(book: Ledger, key: str | None = "k-1", body: bytes = BODY) -> Entry:
    return await book.open("bearer:abc", "POST", PATH, key, body)


def test_a_first_answer_is_kept_and_the_next_request_expects_its_replay() -> None:
    """A 200 closes the key: the retry finds it stored, with the same body, and the first answer's bytes."""

    async def scenario() -> tuple[Entry, Entry, Entry]:
        book = ledger()
        first = await opened(book)
        await book.close(first, answer(200))
        return first, await opened(book), await opened(book, body=b'{"other":1}')

    first, again, other = asyncio.run(scenario())
    assert (first.seen, again.seen, other.seen) == ("first", "stored", "stored")
    assert again.original is not None
    assert (again.original.status, again.original.body, again.same_body) == (200, b'{"status":"accepted"}', True)
    assert other.same_body is False


def test_an_error_answer_frees_the_key() -> None:
    """A 409 is not stored: the next request with the key is a first again."""

    async def scenario() -> str:
        book = ledger()
        await book.close(await opened(book), answer(409, b"{}"))
        return (await opened(book)).seen

    assert asyncio.run(scenario()) == "first"


def test_a_key_held_by_a_request_being_forwarded_is_in_flight_until_abandoned() -> None:
    """While the first request is out, the key is in flight; abandoning it frees the key at once."""

    async def scenario() -> tuple[str, str]:
        book = ledger()
        first = await opened(book)
        during = (await opened(book)).seen
        await book.abandon(first)
        return during, (await opened(book)).seen

    assert asyncio.run(scenario()) == ("in_flight", "first")


def test_no_key_or_a_malformed_one_is_judged_by_no_idempotency_clause() -> None:
    """Without a key, or with one the key pattern refuses, the ledger stays out of it."""

    async def scenario() -> list[str]:
        book = ledger()
        return [(await opened(book, key=None)).seen, (await opened(book, key="not a key!")).seen]

    assert asyncio.run(scenario()) == ["none", "none"]


def test_a_caller_is_named_without_its_secret() -> None:
    """The caller's name is the scheme and a digest, never the token; the same token gets the same name."""
    name = credential_of("Bearer acme-integration-token")
    assert name.startswith("bearer:")
    assert "acme-integration-token" not in name
    assert name == credential_of("Bearer acme-integration-token") != credential_of("Bearer other")
    assert credential_of(None) == "anonymous"


def test_an_upstream_url_is_shown_without_its_password() -> None:
    """A user and password in --upstream never reach a message; a URL without them is shown as given."""
    assert shown_url("https://ci:s3cret@staging.example.com:8443/base") == "https://***@staging.example.com:8443/base"
    assert shown_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
