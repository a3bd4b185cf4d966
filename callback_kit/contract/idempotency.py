"""The callback operation's `x-idempotency` block as a typed value.

The mock and the contract tests both take their idempotency behaviour from `IdempotencyContract`, so the
two cannot drift apart from each other or from the spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from callback_kit.contract.refs import resolve
from callback_kit.contract.spec import CALLBACK_PATH, ContractError, callback_operation

SCOPE_PARTS = ("tenant", "principal", "method", "path")
KeyReusePolicy = Literal["replay", "reject"]
DisagreeingHeadersPolicy = Literal["precedence", "reject"]


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    code: str
    retry_after: int | None = None


@dataclass(frozen=True)
class IdempotencyContract:
    """The `x-idempotency` block of the callback operation."""

    headers: tuple[str, ...]
    key_pattern: re.Pattern[str]
    replay_header: str
    scope: tuple[str, ...]
    in_flight_ttl: float
    completed_ttl: float
    store_status_below: int
    on_different_body: KeyReusePolicy
    on_disagreeing_headers: DisagreeingHeadersPolicy
    """Several key headers with different keys: the first listed in `headers` wins, or the key-invalid error."""
    key_invalid: ErrorSpec
    in_flight: ErrorSpec
    different_body: ErrorSpec
    stored: tuple[str, ...] = ("status", "body")
    """What a replay repeats of the stored answer (lower case): status and body at least."""
    first_says_false: bool = True
    """A first processing carries the replay header as 'false' (else, as the 200 declares it, it may omit it)."""
    key_required: bool = False
    """The operation requires the first key header (a request keyed by an alias alone, or by none, is invalid)."""

    @classmethod
    def from_block(cls, block: dict[str, Any], where: str = "x-idempotency") -> IdempotencyContract:
        """Build the contract from the raw block; raises `ContractError` naming the broken field."""

        def need(name: str, kind: type | tuple[type, ...]) -> Any:
            if name not in block:
                raise ContractError(f"{where}.{name} is missing")
            value = block[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ContractError(f"{where}.{name} must be {_kind_name(kind)}, got {value!r}")
            return value

        headers = need("headers", list)
        if not headers or not all(isinstance(h, str) and h for h in headers):
            raise ContractError(f"{where}.headers must list one or more header names, got {headers!r}")
        try:
            pattern = re.compile(need("keyPattern", str))
        except re.error as exc:
            raise ContractError(f"{where}.keyPattern is not a regular expression: {exc}") from None
        scope = need("scope", list)
        unknown = [part for part in scope if part not in SCOPE_PARTS]
        if unknown or len(set(scope)) != len(scope):
            raise ContractError(f"{where}.scope must name distinct parts of {list(SCOPE_PARTS)}, got {scope!r}")
        in_flight_ttl = need("inFlightTtlSeconds", (int, float))
        completed_ttl = need("completedTtlSeconds", (int, float))
        if not 0 < in_flight_ttl <= completed_ttl:
            raise ContractError(
                f"{where}: need 0 < inFlightTtlSeconds <= completedTtlSeconds, got {in_flight_ttl} and {completed_ttl}"
            )
        below = need("storeStatusBelow", int)
        if not 200 < below <= 600:
            raise ContractError(f"{where}.storeStatusBelow must be a status between 201 and 600, got {below}")
        policy = need("onDifferentBody", str)
        if policy not in ("replay", "reject"):
            raise ContractError(f"{where}.onDifferentBody must be 'replay' or 'reject', got {policy!r}")
        disagreeing = need("onDisagreeingHeaders", str)
        if disagreeing not in ("precedence", "reject"):
            raise ContractError(f"{where}.onDisagreeingHeaders must be 'precedence' or 'reject', got {disagreeing!r}")
        errors = need("errors", dict)
        stored = block.get("stored", ["status", "body"])
        if not isinstance(stored, list) or not {"status", "body"} <= {str(part).lower() for part in stored}:
            raise ContractError(f"{where}.stored must list what a replay repeats, status and body at least")
        return cls(
            headers=tuple(headers),
            key_pattern=pattern,
            replay_header=need("replayHeader", str),
            scope=tuple(scope),
            in_flight_ttl=float(in_flight_ttl),
            completed_ttl=float(completed_ttl),
            store_status_below=below,
            on_different_body=policy,  # type: ignore[arg-type]
            on_disagreeing_headers=disagreeing,  # type: ignore[arg-type]
            key_invalid=_error_spec(errors, "keyInvalid", f"{where}.errors"),
            in_flight=_error_spec(errors, "inFlight", f"{where}.errors"),
            different_body=_error_spec(errors, "differentBody", f"{where}.errors"),
            stored=tuple(str(part).lower() for part in stored),
        )


def _error_spec(errors: dict[str, Any], name: str, where: str) -> ErrorSpec:
    raw = errors.get(name)
    if not isinstance(raw, dict):
        raise ContractError(f"{where}.{name} is missing (expected {{status, code}})")
    status, code = raw.get("status"), raw.get("code")
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ContractError(f"{where}.{name}.status must be an error status (400-599), got {status!r}")
    if not isinstance(code, str) or not re.fullmatch(r"MTCH-[0-9]{4}", code):
        raise ContractError(f"{where}.{name}.code must look like MTCH-0001, got {code!r}")
    retry_after = raw.get("retryAfterSeconds")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise ContractError(f"{where}.{name}.retryAfterSeconds must be a whole number >= 0, got {retry_after!r}")
    return ErrorSpec(status, code, retry_after)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"list": "a list", "str": "a string", "int": "a whole number", "float": "a number", "dict": "a map"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


def idempotency_contract(spec: dict[str, Any]) -> IdempotencyContract:
    """The typed `x-idempotency` block of the callback operation."""
    block = callback_operation(spec).get("x-idempotency")
    where = f"paths.{CALLBACK_PATH}.post.x-idempotency"
    if not isinstance(block, dict):
        raise ContractError(f"{where} is missing")
    contract = IdempotencyContract.from_block(block, where)
    return replace(
        contract, first_says_false=_first_says_false(spec, contract), key_required=_key_required(spec, contract)
    )


def _first_says_false(spec: dict[str, Any], contract: IdempotencyContract) -> bool:
    """False only when the 200 declares the replay header optional and never 'false' (present on replays only)."""
    ok = resolve(spec, callback_operation(spec).get("responses", {}).get("200", {}))
    headers = ok.get("headers", {}) if isinstance(ok, dict) else {}
    declared = next((resolve(spec, h) for n, h in headers.items() if n.lower() == contract.replay_header.lower()), None)
    if not isinstance(declared, dict) or declared.get("required"):
        return True
    values = resolve(spec, declared.get("schema", {})).get("enum")
    return not isinstance(values, list) or "false" in values


def _key_required(spec: dict[str, Any], contract: IdempotencyContract) -> bool:
    """Whether the operation (or its path) declares the first key header as a required parameter."""
    operation = callback_operation(spec)
    parameters = [*spec["paths"][CALLBACK_PATH].get("parameters", []), *operation.get("parameters", [])]
    for parameter in (resolve(spec, raw) for raw in parameters):
        if not isinstance(parameter, dict) or parameter.get("in") != "header":
            continue
        if str(parameter.get("name", "")).lower() == contract.headers[0].lower():
            return bool(parameter.get("required"))
    return False
