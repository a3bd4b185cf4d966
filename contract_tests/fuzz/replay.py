"""`replay(cases, settings)`: send every case to a server, in order, and judge each answer.

`${TOKEN}` in a header becomes the given token; a case with `freshKeys` gets a new idempotency key (the same
in every key header it carries), so a stored answer is never replayed in its place. The reproduction
command of an unexpected answer shows the key actually sent and `${TOKEN}`, never the token itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from callback_kit.contract_tests.fuzz.cases import TOKEN, Case
from callback_kit.contract_tests.fuzz.errors import FuzzError, Unreachable
from callback_kit.contract_tests.fuzz.judge import Answer, UnexpectedOutcome, problems
from callback_kit.contract_tests.fuzz.shell import command
from callback_kit.contract_tests.fuzz.spec import Operation


@dataclass(frozen=True)
class ReplaySettings:
    """Where to send the cases and how to judge them."""

    base_url: str
    token: str
    timeout: float = 30.0
    check_headers: bool = False
    spec_path: Path | None = None


@dataclass(frozen=True)
class Verdict:
    """One case's result: the status (None without an answer), the time taken, the failure if unexpected."""

    case: Case
    status: int | None
    seconds: float
    failure: UnexpectedOutcome | None = None

    @property
    def as_expected(self) -> bool:
        return self.failure is None


OnSent = Callable[[int, int, int], None]
"""Told after each case: how many were sent, how many there are, how many got an unexpected answer."""


def replay(cases: Sequence[Case], settings: ReplaySettings, progress: OnSent | None = None) -> list[Verdict]:
    """Send `cases` in order; raises `Unreachable` when the server does not answer at all."""
    op = Operation.load(settings.spec_path)
    base_url = _checked_base_url(settings.base_url)
    verdicts: list[Verdict] = []
    with httpx.Client(timeout=settings.timeout, follow_redirects=False) as client:
        _preflight(client, base_url)
        for case in cases:
            verdicts.append(_send(client, case, base_url, settings, op))
            if progress is not None:
                progress(len(verdicts), len(cases), sum(not v.as_expected for v in verdicts))
    return verdicts


def _send(client: httpx.Client, case: Case, base_url: str, settings: ReplaySettings, op: Operation) -> Verdict:
    headers = dict(case.headers)
    if case.fresh_keys:
        key = f"fz-{uuid.uuid4().hex}"
        for name in headers:
            if name.lower() in (h.lower() for h in op.keys.headers):
                headers[name] = key
    url = base_url + case.path
    curl = command(case, url, headers, status_line=False)
    # Bytes, so that a hand-edited case with non-ASCII header text is sent as UTF-8, as curl would send it.
    sent = [(name.encode(), value.replace(TOKEN, settings.token).encode()) for name, value in headers.items()]
    started = time.perf_counter()
    try:
        response = client.request(case.method, url, headers=sent, content=case.body.to_bytes())
    except httpx.TransportError as exc:
        seconds = time.perf_counter() - started
        silence = UnexpectedOutcome(case, [f"no answer: {type(exc).__name__}: {exc}"], "nothing", curl)
        return Verdict(case, None, seconds, silence)
    seconds = time.perf_counter() - started
    answer = Answer(response.status_code, response.headers, response.content)
    found = problems(case, answer, op, check_headers=settings.check_headers)
    failure = UnexpectedOutcome(case, found, answer.summary(), curl) if found else None
    return Verdict(case, answer.status, seconds, failure)


def _checked_base_url(raw: str) -> str:
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL as exc:
        raise FuzzError(f'base URL "{raw}" is not a URL ({exc}); expected e.g. http://127.0.0.1:8080') from None
    if url.scheme not in ("http", "https") or not url.host:
        raise FuzzError(f'base URL "{raw}" must be an http(s) URL with a host, e.g. http://127.0.0.1:8080')
    return raw.rstrip("/")


def _preflight(client: httpx.Client, base_url: str) -> None:
    """Any HTTP answer at all means the server is there; no answer is a usage error, not a verdict."""
    try:
        client.get(base_url + "/")
    except httpx.TransportError as exc:
        raise Unreachable(f"cannot reach {base_url}: {type(exc).__name__}: {exc}") from None
