"""Negative cases that break the body's bytes, media type or size around a valid JSON value (400, or 413).

Malformed JSON (checked with a strict parser: no NaN), bytes that are not UTF-8, no body, a media type the
spec does not list, and a body over the server's limit. Each mutation checks its own result before it is kept.
"""

from __future__ import annotations

import base64
import functools
import json
import random

from callback_kit.contract_tests.fuzz.cases import Body, Expect, Violation
from callback_kit.contract_tests.fuzz.draft import CONTENT_TYPE, Category, Draft, Retry
from callback_kit.contract_tests.fuzz.spec import Operation

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
    found = [
        Category("json", bad, malformed_json),
        Category("encoding", bad, not_utf8),
        Category("body-missing", bad, no_body),
        Category("content-type", bad, wrong_media_type),
    ]
    if op.documents(413):
        oversized = functools.partial(oversize, max_body_bytes)
        found.append(Category("oversize", Expect("rejected", (413,)), oversized, rare=True))
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
        # Inside a free-form string: a lenient decoder then sees only an odd name, not a second broken rule.
        schema = op.resolve(op.body_schema)
        free = [n for n in schema.get("required", []) if _is_free_text(op.resolve(schema["properties"][n]))]
        name = free[k % len(free)] if free else next(n for n, v in draft.json.items() if isinstance(v, str))
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


def _is_free_text(schema: dict[str, object]) -> bool:
    return schema.get("type") == "string" and "enum" not in schema and "format" not in schema


def _reject(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")
