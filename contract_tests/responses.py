"""Answers as the spec declares them: the request id echoed, `WWW-Authenticate` on every 401, `Retry-After`
where declared, and every error status with a code the spec pairs with it (`x-error-codes`)."""

from __future__ import annotations

import json
import uuid

from callback_kit.contract import ErrorSpec, checks
from callback_kit.contract.responses import error_codes
from callback_kit.contract_tests.client import callback_path, new_key
from callback_kit.contract_tests.idempotency import HOLD_IN_FLIGHT
from callback_kit.contract_tests.model import request_body
from callback_kit.contract_tests.race import burst
from callback_kit.contract_tests.registry import Context, check

LONG_ID = "r" * 300
ANONYMOUS: tuple[dict[str, str], ...] = (
    {},
    {"Authorization": "Bearer not-a-token-of-this-server"},
    {"Authorization": "Basic a2l0OmtpdA=="},
)


@check("responses")
def request_id_is_echoed(ctx: Context) -> None:
    """A request's `X-Request-Id` comes back as sent; without one, or over the limit, the answer has its own."""
    target, spec, contract = _some_exception(ctx), ctx.environment.spec, ctx.contract
    sent = f"ck-{uuid.uuid4().hex}"
    for request_id in (sent, None, LONG_ID):
        headers = {"X-Request-Id": request_id} if request_id is not None else {}
        answer = ctx.client.callback(target, request_body("OPEN"), key=new_key(), headers=headers)
        ctx.require(checks.request_id_echoed(answer, request_id, spec, contract))


@check("responses")
def unauthorized_answers_carry_www_authenticate(ctx: Context) -> None:
    """Every 401 (no token, an unknown token, another scheme) carries the headers the spec requires of a 401."""
    path, body = callback_path(str(uuid.uuid4())), request_body("OPEN")
    answers = []
    for credentials in ANONYMOUS:
        headers = {"Content-Type": "application/json", **credentials}
        answers.append(ctx.client.send("POST", path, content=json.dumps(body).encode(), headers=headers))
    unauthorized = [answer for answer in answers if answer.status == 401]
    if not unauthorized:
        ctx.note("no request was answered 401 (ignored_auth judges that)")
    for answer in unauthorized:
        ctx.require(checks.carries_declared_headers(answer, ctx.environment.spec, ctx.contract))


@check("responses", needs=("factory",))
def retry_after_where_declared(ctx: Context) -> None:
    """An answer whose status or code the spec gives `Retry-After` carries it: a key in flight, here."""
    client, contract = ctx.client, ctx.contract
    hold = HOLD_IN_FLIGHT if ctx.environment.settings.factory_kind == "mock" else {}
    exception = ctx.factory.create("OPEN", client.token)
    answers = burst(client, exception, request_body("RESOLVED"), new_key(), headers=hold)
    if not any(answer.code() == contract.in_flight.code for answer in answers):
        ctx.note("no request met its key in flight")
    for answer in answers:
        ctx.require(checks.carries_declared_headers(answer, ctx.environment.spec, contract, only="Retry-After"))


@check("responses")
def error_codes_pair_with_statuses(ctx: Context) -> None:
    """Each refusal has a status and a code the spec pairs (`x-error-codes`): an invalid body is a 400, a key
    reused with another body is 422 only under the `reject` policy."""
    client, contract, spec = ctx.client, ctx.contract, ctx.environment.spec
    target = _some_exception(ctx)
    answers = [
        client.callback(target, {"externalSystem": "KIT", "externalIssueId": "CK-1"}, key=new_key()),
        client.callback(target, request_body("OPEN"), key="bad key!"),
        client.callback(str(uuid.uuid4()), request_body("OPEN"), key=new_key()),
    ]
    invalid = answers[0]
    if ctx.environment.factory is not None:
        pending = ctx.factory.create("PENDING_RESOLUTION", client.token)
        answers.append(client.callback(pending, request_body("ASSIGNED"), key=new_key()))
        key = new_key()
        answers.append(client.callback(target, request_body("ASSIGNED"), key=key))
        answers.append(client.callback(target, request_body("ASSIGNED", assignee="someone.else@example.com"), key=key))
    else:
        ctx.note(f"no forbidden transition or reused key tried: needs {ctx.flag('--exception-factory')}")
    for answer in answers:
        ctx.require(checks.code_pairs_with_status(answer, spec, contract))
    if invalid.status != 400:
        ctx.require(checks.rejected_with(invalid, _invalid_request(ctx), contract, why="the body lacks `status`"))


def _invalid_request(ctx: Context) -> ErrorSpec:
    """The refusal of a body the schema refuses: 400, with the first code the spec pairs with 400."""
    codes = error_codes(ctx.environment.spec, 400) or ("MTCH-0001",)
    return ErrorSpec(400, codes[0])


def _some_exception(ctx: Context) -> str:
    factory = ctx.environment.factory
    return str(uuid.uuid4()) if factory is None else factory.create("OPEN", ctx.client.token)
