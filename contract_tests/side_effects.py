"""Side effects, seen through the exception reader: what the contract says each sequence applies.

A replay, a burst of simultaneous requests with one key, and a retry after a lost answer apply the callback
exactly once; a refused request applies nothing. Answers alone cannot show a callback applied a second time
behind a perfect replay (a second RESOLVED on a RESOLVED exception is a 200 metadata update): the reader can.
"""

from __future__ import annotations

import contextlib

import httpx

from callback_kit.contract import checks
from callback_kit.contract.exchange import Exchange
from callback_kit.contract_tests.client import new_key
from callback_kit.contract_tests.model import Status, request_body
from callback_kit.contract_tests.race import burst
from callback_kit.contract_tests.registry import Context, check

# Against the mock, a lost answer is a real one: the mock processes, stores, then drops the connection.
LOSE_ANSWER = {"X-Mock-Fault": "lost-response"}


class Counted:
    """An exception of the run's tenant in a given status, and its count of applied callbacks when made."""

    def __init__(self, ctx: Context, status: Status) -> None:
        self.ctx = ctx
        self.id = ctx.factory.create(status, ctx.client.token)
        self.before = ctx.reader.read(self.id, ctx.client.token).applied

    def require_applied(self, expected: int, last: Exchange, *, what: str) -> None:
        """Fail the check unless the exception's count moved by `expected` since it was made."""
        after = self.ctx.reader.read(self.id, self.ctx.client.token).applied
        self.ctx.require(checks.applied_times(self.before, after, expected, last, self.ctx.contract, what=what))


@check("side_effects", needs=("factory", "reader"))
def replay_is_applied_once(ctx: Context) -> None:
    """A callback and its replays (the same body, then another body with the key) are applied once."""
    client, contract = ctx.client, ctx.contract
    exception, key, body = Counted(ctx, "OPEN"), new_key(), request_body("RESOLVED")
    first = client.callback(exception.id, body, key=key)
    ctx.require(checks.processed(first, contract))
    last = client.callback(exception.id, body, key=key)
    ctx.require(checks.is_replay_of(first, last, contract))
    last = client.callback(exception.id, request_body("RESOLVED", resolutionNotes="another body"), key=key)
    exception.require_applied(1, last, what="a callback and two retries with its key")


@check("side_effects", needs=("factory", "reader"))
def burst_is_applied_once(ctx: Context) -> None:
    """Simultaneous requests with one key apply the callback once, whatever they answer."""
    exception = Counted(ctx, "OPEN")
    answers = burst(ctx.client, exception.id, request_body("RESOLVED"), new_key())
    exception.require_applied(1, answers[-1], what=f"{len(answers)} simultaneous requests with one key")


@check("side_effects", needs=("factory", "reader"))
def retry_after_lost_answer_is_applied_once(ctx: Context) -> None:
    """A retry of a callback whose answer was lost is a replay, and the callback is applied once."""
    client, contract = ctx.client, ctx.contract
    exception, key, body = Counted(ctx, "OPEN"), new_key(), request_body("RESOLVED")
    first: Exchange | None = None
    if ctx.environment.settings.factory_kind == "mock":
        ctx.note("the mock dropped the first answer (X-Mock-Fault: lost-response)")
        with contextlib.suppress(httpx.TransportError):  # the answer is lost, as planned
            first = client.callback(exception.id, body, key=key, headers=LOSE_ANSWER)
    else:
        ctx.note("the first answer was read and thrown away, as by a client that lost it")
        first = client.callback(exception.id, body, key=key)
    retry = client.callback(exception.id, body, key=key)
    if first is not None and first.status == 200:
        ctx.require(checks.is_replay_of(first, retry, contract))
    else:
        replay = checks.Expected(200, replayed=True)
        ctx.require(checks.matches_model(retry, replay, contract, "a callback whose answer was lost, then its retry"))
    exception.require_applied(1, retry, what="a callback whose answer was lost, and its retry")


@check("side_effects", needs=("factory", "reader"))
def refused_request_is_not_applied(ctx: Context) -> None:
    """A forbidden transition, a malformed key and an invalid body apply nothing."""
    client, contract = ctx.client, ctx.contract
    exception = Counted(ctx, "PENDING_RESOLUTION")
    refused = client.callback(exception.id, request_body("ASSIGNED"), key=new_key())
    ctx.require(checks.refused_transition(refused, contract, why="PENDING_RESOLUTION may not become ASSIGNED"))
    malformed = client.callback(exception.id, request_body("RESOLVED"), key="bad key!")
    ctx.require(checks.rejected_with(malformed, contract.key_invalid, contract, why="the key is malformed"))
    invalid = client.callback(exception.id, {"externalSystem": "JIRA", "externalIssueId": "X-1"}, key=new_key())
    exception.require_applied(0, invalid, what="three refused requests")
