"""HAR 1.2 logs, written entry by entry with `harfile` (a file of 100,000 requests is never held in memory).

A body that is not UTF-8 text is written base64-encoded with `"encoding": "base64"`, in the request as in
the response. An entry without a response (a fuzz case not sent yet) gets the empty placeholder HAR requires.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import harfile

from callback_kit import __version__
from callback_kit.contract.exchange import Exchange, find_header
from callback_kit.reporting.redact import Secrets, redact

Pairs = Sequence[tuple[str, str]]


@dataclass(slots=True)
class _PostData(harfile.PostData):
    """harfile's post data with the `encoding` HAR tools read for a base64 body."""

    encoding: str | None = None

    def asdict(self) -> dict[str, Any]:
        data = harfile.PostData.asdict(self)
        if self.encoding is not None:
            data["encoding"] = self.encoding
        return data


@dataclass(slots=True)
class _Request(harfile.Request):
    """harfile's request with custom fields (names start with `_`, as HAR allows)."""

    custom: Mapping[str, Any] | None = None

    def asdict(self) -> dict[str, Any]:
        data = harfile.Request.asdict(self)
        data.update(self.custom or {})
        return data


@dataclass(frozen=True)
class Sent:
    """A request as a HAR entry shows it."""

    method: str
    url: str
    headers: Pairs
    body: bytes | None
    http_version: str = "HTTP/1.1"


@dataclass(frozen=True)
class Answered:
    """A response as a HAR entry shows it."""

    status: int
    reason: str
    headers: Pairs
    body: bytes
    http_version: str = "HTTP/1.1"


class HarWriter:
    """A HAR log being written to `path`; a context manager (the log is closed, valid JSON, on exit)."""

    def __init__(self, path: Path, *, creator: str, comment: str | None = None) -> None:
        self._handle: IO[str] = path.open("w", encoding="utf-8", newline="\n")
        self._log = harfile.HarFile(
            self._handle, creator=harfile.Creator(name=creator, version=__version__), comment=comment
        )

    def add(
        self,
        sent: Sent,
        answered: Answered | None,
        *,
        started: str,
        millis: float = 0,
        comment: str | None = None,
        custom: Mapping[str, Any] | None = None,
    ) -> None:
        """One entry; `custom` adds `_name` fields to the request."""
        request = _Request(
            method=sent.method,
            url=sent.url,
            httpVersion=sent.http_version,
            headers=[harfile.Record(name=name, value=value) for name, value in sent.headers],
            postData=None
            if sent.body is None
            else _post_data(sent.body, find_header(tuple(sent.headers), "content-type")),
            bodySize=0 if sent.body is None else len(sent.body),
            custom=custom,
        )
        self._log.add_entry(
            startedDateTime=started,
            time=millis,
            request=request,
            response=_response(answered),
            timings=harfile.Timings(send=0, wait=millis, receive=0),
            comment=comment,
        )

    def close(self) -> None:
        self._log.close()
        self._handle.close()

    def __enter__(self) -> HarWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def write_exchanges(
    path: Path, exchanges: Iterable[Exchange], secrets: Secrets, *, creator: str, comment: str | None = None
) -> None:
    """A HAR log of recorded exchanges; secrets become `${VARIABLE}` placeholders; each entry's comment is its label."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with HarWriter(path, creator=creator, comment=comment) as log:
        for exchange in exchanges:
            headers = [(name, redact(value, secrets)) for name, value in exchange.request_headers]
            body = exchange.request_body
            text = _text(body)
            sent_body = redact(text, secrets).encode() if text is not None else body
            log.add(
                Sent(exchange.method, exchange.url, headers, sent_body, exchange.http_version),
                Answered(exchange.status, exchange.reason, exchange.headers, exchange.body, exchange.http_version),
                started=datetime.fromtimestamp(exchange.started, UTC).isoformat(timespec="milliseconds"),
                millis=round(exchange.elapsed * 1000, 3),
                comment=exchange.label,
            )


def _post_data(body: bytes, content_type: str | None) -> _PostData:
    text = _text(body)
    if text is not None:
        return _PostData(mimeType=content_type or "", text=text)
    return _PostData(mimeType=content_type or "", text=base64.b64encode(body).decode("ascii"), encoding="base64")


def _response(answered: Answered | None) -> harfile.Response:
    if answered is None:
        return harfile.Response(status=0, statusText="", httpVersion="")
    text = _text(answered.body)
    content_type = find_header(tuple(answered.headers), "content-type") or ""
    content = harfile.Content(
        size=len(answered.body),
        mimeType=content_type,
        text=text if text is not None else base64.b64encode(answered.body).decode("ascii"),
        encoding=None if text is not None else "base64",
    )
    return harfile.Response(
        status=answered.status,
        statusText=answered.reason,
        httpVersion=answered.http_version,
        headers=[harfile.Record(name=name, value=value) for name, value in answered.headers],
        content=content,
        redirectURL=find_header(tuple(answered.headers), "location") or "",
        bodySize=len(answered.body),
    )


def _text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
