"""Negative cases that break the request around a valid body: its bytes, media type, size, token, keys, path.

Expected answers: 400 for the body's bytes, the content type, the path and the headers (with the spec's
`x-idempotency` `keyInvalid` status and code for keys), 401 for tokens, 413 for an oversize body, 404 for an
exception that does not exist. Each mutation checks its own result against the spec before it is kept.
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

from contract_tests.fuzz.cases import TOKEN, Body, Expect, Violation
from contract_tests.fuzz.draft import AUTHORIZATION, CONTENT_TYPE, Category, Draft, Retry
from contract_tests.fuzz.spec import Operation

WRONG_MEDIA_TYPES = (
    "text/plain",
    "text/plain; charset=utf-8",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=fuzz",
    "application/octet-stream",
)
NOT_UTF8 = (b"\xe9", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80")
MARKER = "\ue000"  # a private-use character, swapped for the invalid bytes after encoding


def categories(op: Operation, max_body_bytes: int) -> list[Category]:
    bad = Expect("rejected", (400,))
    key_invalid = op.keys.key_invalid
    keys = Expect("rejected", (key_invalid.status,), key_invalid.code)
    found = [
        Category("json", bad, malformed_json),
        Category("encoding", bad, not_utf8),
        Category("body-missing", bad, no_body),
        Category("content-type", bad, wrong_media_type),
        Category("token-missing", Expect("rejected", (401,)), no_token),
        Category("token-invalid", Expect("rejected", (401,)), bad_token),
        Category("key-format", keys, bad_key),
        Category("path", bad, bad_exception_id),
    ]
    if len(op.keys.headers) > 1:
        found.append(Category("key-conflict", keys, conflicting_keys))
    if op.documents(404):
        found.append(Category("unknown-exception", Expect("rejected", (404,)), unknown_exception))
    if op.documents(413):
        found.append(Category("oversize", Expect("rejected", (413,)), functools.partial(oversize, max_body_bytes), True))
    if any(_header_variants(op, p.name) for p in op.headers):
        found.append(Category("header", bad, bad_header))
    return found


def malformed_json(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    text = json.dumps(draft.json, ensure_ascii=False, separators=(",", ":"))
    unquoted = "{" + ",".join(f"{name}:{json.dumps(v, ensure_ascii=False)}" for name, v in draft.json.items()) + "}"
    variants = (
        ("truncated", text[: rng.randint(1, len(text) - 1)]),
        ("a trailing comma", text[:-1] + ",}"),
        ("single quotes", text.replace('"', "'")),
        ("unquoted member names", unquoted),
        ("trailing garbage", text + rng.choice(("x", "}", " {}", "\x00"))),
        ("a comment", "/* fuzz */" + text),
        ("two documents", text + text),
        ("form encoding", "&".join(f"{n}={v}" for n, v in draft.json.items() if isinstance(v, str))),
    )
    label, broken = variants[(k + rng.randrange(2)) % len(variants)]
    try:
        json.loads(broken, parse_constant=_reject)
    except ValueError:
        draft.body = Body("text", broken)
        return Violation("body", "json", f"not JSON: {label}")
    raise Retry


def not_utf8(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    if k % 4 == 3:
        raw = json.dumps(draft.json, ensure_ascii=False).encode("utf-16")
        note = "JSON encoded as UTF-16"
    else:
        name = next(n for n, v in draft.json.items() if isinstance(v, str))
        invalid = NOT_UTF8[(k + rng.randrange(len(NOT_UTF8))) % len(NOT_UTF8)]
        draft.json[name] = draft.json[name] + MARKER
        text = json.dumps(draft.json, ensure_ascii=False, separators=(",", ":"))
        raw = text.encode("utf-8").replace(MARKER.encode("utf-8"), invalid)
        note = f"bytes {invalid!r} inside {name}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        draft.body = Body("base64", base64.b64encode(raw).decode("ascii"))
        return Violation("body", "encoding", f"not UTF-8: {note}")
    raise Retry


def no_body(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    draft.body = Body("none") if k % 2 == 0 else Body("text", rng.choice((" ", "\n", " \r\n\t ")))
    return Violation("body", "required", "no body" if k % 2 == 0 else "a body of white space only")


def wrong_media_type(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    if k % (len(WRONG_MEDIA_TYPES) + 1) == 0:
        draft.set_header(CONTENT_TYPE, None)
        return Violation(CONTENT_TYPE, "required", "no Content-Type")
    value = WRONG_MEDIA_TYPES[(k + rng.randrange(2)) % len(WRONG_MEDIA_TYPES)]
    draft.set_header(CONTENT_TYPE, value)
    return Violation(CONTENT_TYPE, "media type", f"{value}, the spec accepts only {op.media_type}")


def oversize(limit: int, op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    text = json.dumps(draft.json, ensure_ascii=False, separators=(",", ":"))
    if k % 2 == 0:
        name = next(n for n in ("padding", "fuzzPadding", "_padding") if n not in draft.json)
        prefix, fill, suffix, how = text[:-1] + f',"{name}":"', "x", '"}', f"a {name} member"
    else:
        prefix, fill, suffix, how = "", " ", text, "leading white space"
    count = limit + 1 - len(prefix.encode()) - len(suffix.encode()) + rng.randint(0, 4096)
    draft.body = Body("fill", {"prefix": prefix, "fill": fill, "count": count, "suffix": suffix})
    size = len(prefix.encode()) + count + len(suffix.encode())
    return Violation("body", "maxBytes", f"{size} bytes of valid JSON ({how}), over a {limit}-byte limit")


def no_token(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    draft.set_header(AUTHORIZATION, None)
    return Violation(AUTHORIZATION, "required", "no Authorization header")


def bad_token(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    hex_ = "%032x" % rng.getrandbits(128)
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
    variants = [("", "empty"), (good[:spot] + rng.choice(_bad_key_chars(pattern.pattern)) + good[spot:], "a forbidden character"),
                (good[:spot] + " " + good[spot:], "a space")]
    if longest is not None:
        variants.append(((good * (longest // len(good) + 2))[: longest + 1], f"{longest + 1} characters"))
    value, note = variants[(k // len(op.keys.headers)) % len(variants)]
    if pattern.fullmatch(value):
        raise Retry
    draft.set_header(header, value)
    draft.fresh_keys = False
    return Violation(header, "pattern", f"{header} = {json.dumps(value)} ({note}), not {pattern.pattern}")


def conflicting_keys(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    first, second = _valid_key(rng), _valid_key(rng)
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


def _reject(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
