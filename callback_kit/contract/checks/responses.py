"""The named checks of answers as the spec declares them: required headers, the request id, status and code."""

from __future__ import annotations

from typing import Any

from callback_kit.contract.checks.base import Violation, violation
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.idempotency import IdempotencyContract
from callback_kit.contract.responses import DeclaredHeader, declared_headers, error_codes
from callback_kit.contract.schemas import validator

REQUEST_ID = "X-Request-Id"


def carries_declared_headers(
    exchange: Exchange, spec: dict[str, Any], contract: IdempotencyContract, *, only: str | None = None
) -> Violation | None:
    """Every header the spec requires for the answer's status is there, valid against its schema (and
    `Retry-After` on an in-flight answer when `x-idempotency` gives it seconds); `only` judges one header."""
    wanted = [header for header in declared_headers(spec, exchange.status) if header.required]
    in_flight = contract.in_flight
    if exchange.code() == in_flight.code and in_flight.retry_after is not None:
        wanted.append(DeclaredHeader("Retry-After", True, {"type": "integer", "minimum": 0}))
    for header in wanted:
        if only is not None and header.name.lower() != only.lower():
            continue
        value = exchange.header(header.name)
        problem = "absent" if value is None else "" if _valid(value, header.schema, spec) else f"{value!r} invalid"
        if problem:
            return violation(
                "carries_declared_headers",
                f"a {exchange.status} answer lacks the header {header.name} the spec requires ({problem})",
                f"{header.name} on every {exchange.status} answer",
                exchange,
                contract,
                expected_status=exchange.status,
            )
    return None


def request_id_echoed(
    exchange: Exchange, sent: str | None, spec: dict[str, Any], contract: IdempotencyContract
) -> Violation | None:
    """The answer's `X-Request-Id` is the one sent when that one is within the declared limits, else one of its own
    within them."""
    declared = next((h for h in declared_headers(spec, exchange.status) if h.name.lower() == REQUEST_ID.lower()), None)
    if declared is None:
        return None
    echoed = exchange.header(REQUEST_ID)
    fits = sent is not None and sent.isprintable() and _valid(sent, declared.schema, spec)
    if echoed is not None and _valid(echoed, declared.schema, spec) and (echoed == sent or not fits):
        return None
    limits = ", ".join(f"{k} {v}" for k, v in declared.schema.items() if k in ("minLength", "maxLength"))
    wanted = f"{REQUEST_ID}: {sent}" if fits else f"a {REQUEST_ID} of its own ({limits})"
    shown = "absent" if echoed is None else f"{echoed[:40]!r} ({len(echoed)} characters)"
    return violation(
        "request_id_echoed",
        f"the answer's {REQUEST_ID} is not {'the one sent' if fits else 'within the declared limits'}: {shown}",
        wanted,
        exchange,
        contract,
    )


def code_pairs_with_status(exchange: Exchange, spec: dict[str, Any], contract: IdempotencyContract) -> Violation | None:
    """An error answer's code is one the spec allows with its status (`x-error-codes`); the different-body error
    only under the `reject` policy."""
    if exchange.status < 400:
        return None
    allowed = error_codes(spec, exchange.status)
    code = exchange.code()
    wrong = ""
    if allowed is not None and code not in allowed:
        wrong = f"{exchange.status} with code {code}: the spec pairs {exchange.status} with {', '.join(allowed)} only"
        expected = f"{exchange.status} with {' or '.join(allowed)}, or the status the spec pairs with {code}"
    elif code == contract.different_body.code and contract.on_different_body != "reject":
        wrong = f"{code} although the key-reuse policy is {contract.on_different_body!r}"
        expected = f"no {code}: a key reused with another body is answered as the policy says"
    if not wrong:
        return None
    return violation("code_pairs_with_status", wrong, expected, exchange, contract)


def _valid(value: str, schema: dict[str, Any], spec: dict[str, Any]) -> bool:
    typed: Any = value
    if schema.get("type") == "integer":
        try:
            typed = int(value)
        except ValueError:
            return False
    return bool(validator(schema, spec).is_valid(typed))
