"""The fuzz case: one request, what is wrong with it (if anything), and the answer a correct server gives.

A case is stored as one JSON object per line of `cases.jsonl`:

    {"id": "neg-0007-status-enum", "kind": "negative", "category": "enum",
     "violation": {"field": "status", "rule": "enum", "note": "status = 'CLOSED'"},
     "method": "POST", "path": "/v1/exceptions/<id>/callback",
     "headers": {"Authorization": "Bearer ${TOKEN}", ...}, "bodyEncoding": "json", "body": {...},
     "expect": {"outcome": "rejected", "statuses": [400]}, "freshKeys": true}

`bodyEncoding` says how `body` gives the bytes sent: `json` (compact UTF-8 JSON of the value), `text` (the
string, UTF-8), `base64` (bytes that are not UTF-8), `fill` (`prefix + fill * count + suffix`, for bodies
too large to store) or `none` (no body). `${TOKEN}` in a header stands for the bearer token given at replay.
`freshKeys` asks the replayer for new idempotency keys, so that a stored answer is never replayed instead.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callback_kit.contract_tests.fuzz.errors import CaseFileError

Kind = Literal["positive", "negative"]
Outcome = Literal["accepted", "rejected", "state-dependent"]
Encoding = Literal["json", "text", "base64", "fill", "none"]
TOKEN = "${TOKEN}"
ENCODINGS = ("json", "text", "base64", "fill", "none")
KINDS = ("positive", "negative")
OUTCOMES = ("accepted", "rejected", "state-dependent")
# Characters `str.splitlines()` would split a line on; escaped so that every case stays on one line.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


@dataclass(frozen=True)
class Body:
    """The request body as stored: an encoding and a value."""

    encoding: Encoding
    value: Any = None

    def to_bytes(self) -> bytes | None:
        """The bytes sent, or None for no body."""
        if self.encoding == "json":
            return json.dumps(self.value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if self.encoding == "text":
            return str(self.value).encode("utf-8")
        if self.encoding == "base64":
            return base64.b64decode(self.value)
        if self.encoding == "fill":
            text = f"{self.value['prefix']}{self.value['fill'] * int(self.value['count'])}{self.value['suffix']}"
            return text.encode("utf-8")
        return None


@dataclass(frozen=True)
class Expect:
    """The answer class: `statuses` lists every status a correct server may give; `code` pins the error code."""

    outcome: Outcome
    statuses: tuple[int, ...]
    code: str | None = None

    def label(self) -> str:
        return "|".join(map(str, self.statuses)) + (f" {self.code}" if self.code else "")


@dataclass(frozen=True)
class Violation:
    """What a negative case breaks: the field, the rule (a JSON Schema keyword or a named HTTP rule), a note."""

    field: str
    rule: str
    note: str


@dataclass(frozen=True)
class Case:
    id: str
    kind: Kind
    category: str
    method: str
    path: str
    headers: dict[str, str]
    body: Body
    expect: Expect
    violation: Violation | None = None
    fresh_keys: bool = True

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind, "category": self.category}
        if self.violation is not None:
            v = self.violation
            data["violation"] = {"field": v.field, "rule": v.rule, "note": v.note}
        data |= {"method": self.method, "path": self.path, "headers": dict(self.headers)}
        data |= {"bodyEncoding": self.body.encoding, "body": self.body.value}
        expect: dict[str, Any] = {"outcome": self.expect.outcome, "statuses": list(self.expect.statuses)}
        if self.expect.code:
            expect["code"] = self.expect.code
        data |= {"expect": expect, "freshKeys": self.fresh_keys}
        return data

    @classmethod
    def from_json(cls, data: Any) -> Case:
        """Rebuild a case; raises `ValueError`, `KeyError` or `TypeError` on a malformed one."""
        if not isinstance(data, dict):
            raise TypeError(f"a case is a JSON object, got {type(data).__name__}")
        encoding = data["bodyEncoding"]
        if encoding not in ENCODINGS:
            raise ValueError(f"bodyEncoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
        headers = data["headers"]
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise TypeError("headers must map names to string values")
        raw = data["expect"]
        expect = Expect(raw["outcome"], tuple(int(s) for s in raw["statuses"]), raw.get("code"))
        if data["kind"] not in KINDS or expect.outcome not in OUTCOMES or not expect.statuses:
            raise ValueError(f"kind must be one of {KINDS}, expect.outcome one of {OUTCOMES}, statuses not empty")
        violation = data.get("violation")
        return cls(
            id=str(data["id"]),
            kind=data["kind"],
            category=str(data["category"]),
            method=str(data["method"]),
            path=str(data["path"]),
            headers=dict(headers),
            body=Body(encoding, data["body"]),
            expect=expect,
            violation=None if violation is None else Violation(**violation),
            fresh_keys=bool(data.get("freshKeys", True)),
        )


def dumps(case: Case) -> str:
    """One line of `cases.jsonl` (no newline)."""
    line = json.dumps(case.to_json(), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _LINE_BREAKS.items():
        line = line.replace(char, escaped)
    return line


def write_jsonl(cases: Iterable[Case], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for case in cases:
            handle.write(dumps(case) + "\n")


def read_jsonl(path: Path) -> list[Case]:
    """All cases of a `cases.jsonl`; raises `CaseFileError` naming the file and line of a bad one."""
    return list(_iter_jsonl(path))


def _iter_jsonl(path: Path) -> Iterator[Case]:
    try:
        handle = path.open(encoding="utf-8", newline="\n")
    except OSError as exc:
        raise CaseFileError(f"cannot read cases file {str(path)!r}: {exc.strerror or exc}") from None
    with handle:
        try:
            lines = list(enumerate(handle, start=1))
        except UnicodeDecodeError as exc:
            raise CaseFileError(f"{path}: not UTF-8 text ({exc})") from None
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield Case.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise CaseFileError(
                f"{path}:{number}: not a fuzz case ({type(exc).__name__}: {exc}); expected one JSON object per "
                'line like {"id": "neg-0007-status-enum", "method": "POST", "path": ..., "expect": {...}}'
            ) from None
