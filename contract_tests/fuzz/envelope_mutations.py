"""Negative cases that break what surrounds a valid body: the token, the idempotency keys, the path, a header.

Expected answers: 401 for a missing or invalid token; the `x-idempotency` block's `keyInvalid` status and
code for a malformed key, or two key headers that disagree under the policy `reject`; 400 for a malformed
exception id or header; 404 for a well-formed id of no exception. Key values are built from, and checked
against, the spec's keyPattern.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import random
import re
import string
import uuid

from callback_kit.contract_tests.fuzz.cases import TOKEN, Expect, Violation
from callback_kit.contract_tests.fuzz.draft import AUTHORIZATION, Category, Draft, Retry
from callback_kit.contract_tests.fuzz.spec import Operation


def categories(op: Operation) -> list[Category]:
    key_invalid = op.keys.key_invalid
    keys = Expect("rejected", (key_invalid.status,), key_invalid.code)
    found = [
        Category("token-missing", Expect("rejected", (401,)), no_token),
        Category("token-invalid", Expect("rejected", (401,)), bad_token),
        Category("key-format", keys, bad_key),
        Category("path", Expect("rejected", (400,)), bad_exception_id),
    ]
    # Under `precedence` two different keys are a valid request (the first header wins): no negative case.
    if len(op.keys.headers) > 1 and op.keys.on_disagreeing_headers == "reject":
        found.append(Category("key-conflict", keys, conflicting_keys))
    if op.documents(404):
        found.append(Category("unknown-exception", Expect("rejected", (404,)), unknown_exception))
    if any(_header_variants(op, p.name) for p in op.headers):
        found.append(Category("header", Expect("rejected", (400,)), bad_header))
    return found


def no_token(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    draft.set_header(AUTHORIZATION, None)
    return Violation(AUTHORIZATION, "required", "no Authorization header")


def bad_token(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    hex_ = f"{rng.getrandbits(128):032x}"
    variants = (
        (f"Bearer fuzz-{hex_}", "an unknown token"),
        (f"Bearer {TOKEN}x", "the token with a character appended"),
        ("Basic " + base64.b64encode(f"fuzz:{hex_}".encode()).decode(), "Basic credentials"),
        (f"Token {TOKEN}", "the token under another scheme"),
        (TOKEN, "the token without a scheme"),
        ("Bearer", "the scheme without a token"),
        (f"Bearer {_forged_jwt(rng)}", "a JWT signed with another key"),
    )
    value, note = variants[k % len(variants)]
    draft.set_header(AUTHORIZATION, value)
    return Violation(AUTHORIZATION, "invalid", note)


def bad_key(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    header = op.keys.headers[k % len(op.keys.headers)]
    pattern = op.keys.key_pattern
    good = _valid_key(rng)
    longest = _longest_key(pattern.pattern)
    spot = rng.randint(1, len(good) - 1)
    variants = [
        ("", "empty"),
        (good[:spot] + rng.choice(_bad_key_chars(pattern.pattern)) + good[spot:], "a forbidden character"),
        (good[:spot] + " " + good[spot:], "a space"),
    ]
    if longest is not None:
        variants.append(((good * (longest // len(good) + 2))[: longest + 1], f"{longest + 1} characters"))
    value, note = variants[(k // len(op.keys.headers)) % len(variants)]
    if pattern.fullmatch(value):
        raise Retry
    for name in op.keys.headers:
        draft.set_header(name, None)  # the malformed key is the only key sent
    draft.set_header(header, value)
    draft.fresh_keys = False
    return Violation(header, "pattern", f"{header} = {json.dumps(value)} ({note}), not {pattern.pattern}")


def conflicting_keys(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    first, second = _valid_key(rng), _valid_key(rng)
    if first == second or not all(op.keys.key_pattern.fullmatch(key) for key in (first, second)):
        raise Retry
    for header, value in zip(op.keys.headers, (first, second), strict=False):
        draft.set_header(header, value)
    draft.fresh_keys = False
    names = " and ".join(op.keys.headers[:2])
    return Violation(op.keys.headers[1], "conflict", f"{names} carry different keys")


def bad_exception_id(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    good = draft.exception_id
    spot = rng.randrange(len(good))
    variants = (
        ("00000000-0000-0000-0000-000000000000", "the nil UUID"),
        (good.replace("-", ""), "a UUID without hyphens"),
        ("not-a-uuid", "not a UUID"),
        (good[:spot] + "g" + good[spot + 1 :], "a non-hex character"),
        (good[:-1], "a UUID one character short"),
        (good + "0", "a UUID one character long"),
        (str(rng.randint(1, 10**6)), "a number"),
    )
    value, note = variants[k % len(variants)]
    if not list(op.validator(op.path_parameter.schema).iter_errors(value)):
        raise Retry
    draft.exception_id = value
    return Violation(op.path_parameter.name, "pattern", f"{op.path_parameter.name} = {json.dumps(value)} ({note})")


def unknown_exception(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    draft.exception_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return Violation(op.path_parameter.name, "exists", "a well-formed id of no exception")


def bad_header(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    options = [(p.name, *v) for p in op.headers for v in _header_variants(op, p.name)]
    name, value, rule = options[k % len(options)]
    draft.set_header(name, value)
    return Violation(name, rule, f"{name} of {len(value)} characters")


def _header_variants(op: Operation, name: str) -> list[tuple[str, str]]:
    """Invalid values of a plain header parameter (not a key header): (value, the rule it breaks)."""
    if name.lower() in (h.lower() for h in op.keys.headers):
        return []
    schema = next(p.schema for p in op.headers if p.name == name)
    found = []
    if "maxLength" in schema:
        found.append(("r" * (int(schema["maxLength"]) + 1), "maxLength"))
    if int(schema.get("minLength", 0)) > 0:
        found.append(("", "minLength"))
    return [(value, rule) for value, rule in found if list(op.validator(schema).iter_errors(value))]


def _valid_key(rng: random.Random) -> str:
    return "fz-" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=20))


@functools.cache
def _longest_key(pattern: str) -> int | None:
    """The longest run of 'a' the key pattern accepts (None when it accepts 4096 of them)."""
    compiled = re.compile(pattern)
    for length in range(1, 4097):
        if not compiled.fullmatch("a" * length):
            return length - 1
    return None


@functools.cache
def _bad_key_chars(pattern: str) -> tuple[str, ...]:
    compiled = re.compile(pattern)
    return tuple(c for c in string.punctuation if not compiled.fullmatch("a" + c + "a"))


def _forged_jwt(rng: random.Random) -> str:
    def part(data: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()

    claims = {"sub": "fuzz", "tenant_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "exp": 4102444800}
    head = part({"alg": "HS256", "typ": "JWT"}) + "." + part({**claims, "permissions": ["callback:process"]})
    signature = hmac.new(rng.randbytes(32), head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
