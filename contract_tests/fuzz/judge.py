"""The judge: is an answer one a correct server may give to a case? And the verdict when it is not.

A case's `expect.statuses` lists every status a correct server may give; anything else is unexpected, and a
5xx always is. A rejection (4xx) must be `application/json` with a body valid against the spec's
`components.schemas.Error` (and carry `expect.code` when the case pins one, as key cases do); a 2xx body must
match the schema the spec documents for it. With `check_headers`, the response headers the spec marks
`required` for that status must be present too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callback_kit.contract_tests.fuzz.cases import Case
from callback_kit.contract_tests.fuzz.spec import Operation

JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    """What came back: the status, the headers (names case-insensitive), the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def summary(self, limit: int = 300) -> str:
        text = self.body[:limit].decode("utf-8", "replace") + ("…" if len(self.body) > limit else "")
        return f"{self.status} {self.headers.get('content-type', '(no Content-Type)')} {text}".rstrip()


def problems(case: Case, answer: Answer, op: Operation, *, check_headers: bool = False) -> list[str]:
    """Why `answer` is not what a correct server gives to `case` (empty when it is)."""
    found = []
    if answer.status >= 500:
        found.append(f"server error {answer.status}: a correct server never answers 5xx to this request")
    elif answer.status not in case.expect.statuses:
        found.append(f"status {answer.status}, expected {case.expect.label()}")
    if answer.status >= 400:
        found += _error_body(case, answer, op)
    elif 200 <= answer.status < 300:
        found += _success_body(answer, op)
    if check_headers and op.documents(answer.status):
        missing = [h for h in op.required_response_headers(answer.status) if h not in answer.headers]
        found += [f"required response header {name} is missing" for name in missing]
    return found


def _error_body(case: Case, answer: Answer, op: Operation) -> list[str]:
    found = []
    media = answer.headers.get("content-type", "")
    if media.split(";")[0].strip().lower() != JSON:
        found.append(f"error Content-Type is {media or 'absent'}; the spec documents {JSON}")
    data = _json(answer.body)
    if data is _NOT_JSON:
        return [*found, "error body is not JSON; the spec documents {code, title, message, details?}"]
    for error in op.validator(op.error_schema()).iter_errors(data):
        where = "/".join(str(p) for p in error.absolute_path) or "body"
        found.append(f"error body breaks components.schemas.Error at {where}: {error.message}")
    code = data.get("code") if isinstance(data, dict) else None
    if case.expect.code and answer.status in case.expect.statuses and code != case.expect.code:
        found.append(f"error code {code!r}, expected {case.expect.code}")
    return found


def _success_body(answer: Answer, op: Operation) -> list[str]:
    schema = op.response_schema(answer.status)
    if schema is None:
        return []
    data = _json(answer.body)
    if data is _NOT_JSON:
        return [f"{answer.status} body is not JSON; the spec documents a JSON body"]
    return [f"{answer.status} body breaks its schema: {e.message}" for e in op.validator(schema).iter_errors(data)]


_NOT_JSON: Any = object()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _NOT_JSON


class UnexpectedOutcome(AssertionError):
    """An answer a correct server would not give; its text reads: title, Expected, Received, Reproduce."""

    def __init__(self, case: Case, problems: list[str], received: str, curl: str) -> None:
        self.case = case
        self.problems = problems
        self.received = received
        self.curl = curl
        super().__init__(self.render())

    @property
    def title(self) -> str:
        return f"{self.case.id}: {self.problems[0]}"

    def render(self) -> str:
        what = self.case.violation.note if self.case.violation else "a valid callback"
        lines = [self.title, *(f"  also: {p}" for p in self.problems[1:])]
        lines += [
            f"  Expected: {self.case.expect.outcome} {self.case.expect.label()} ({self.case.kind}, {what})",
            f"  Received: {self.received}",
            f"  Reproduce: {self.curl}",
        ]
        return "\n".join(lines)
