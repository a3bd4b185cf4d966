"""The request log: one line per request, through the standard `logging` module (logger `callback_kit.access`).

    2026-11-28T21:39:03.107Z POST /v1/exceptions/1a01…/callback 200 3.1ms replayed=false key=try-1 request_id=…

Each line holds the method, the path (never the query: the inspector takes `?token=`), the status, the latency
to the last byte, the replay flag, the idempotency key and the request id, plus the fault when one was
injected. No other header is read, so no token can reach the log. `TextFormatter` writes that line,
`JsonFormatter` one JSON object per request; `callback-kit serve` picks one (`--log-format`) and turns the
logger off with `--quiet`, in which case the layer is left out of the stack altogether (`enabled`).
It is cheap on purpose: no store read, one record per request, formatted once by the handler.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.mock_server.faults import fault_of

LOGGER = "callback_kit.access"
log = logging.getLogger(LOGGER)
# The record's args, in this order; the message template is for handlers that know nothing of the formatters.
FIELDS = ("method", "path", "status", "latencyMs", "replayed", "key", "requestId", "fault")
TEMPLATE = "%s %s %s %.1fms replayed=%s key=%s request_id=%s fault=%s"
MAX_VALUE = 128  # a client's key or request id longer than this is cut, so that a line stays a line
_PLAIN = re.compile(r"[!#-~]+")  # printable ASCII without blanks and double quotes: shown as is
_REPLAYED = b"x-idempotency-replayed"
_REQUEST_ID = b"x-request-id"


def enabled() -> bool:
    """Whether the request log is on (`--quiet`, or any logging set-up, can leave the logger below INFO)."""
    return log.isEnabledFor(logging.INFO)


class AccessLogMiddleware:
    """Outermost of the kit's layers: times each HTTP request and logs one record once it is answered."""

    def __init__(self, app: ASGIApp, *, key_headers: list[str]) -> None:
        self.app = app
        self._key_headers = tuple(name.lower().encode("latin-1") for name in key_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer: list[Any] = [500, None, None]  # status, replayed, request id: what an escaping error answers

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer[0] = message["status"]
                for name, value in message.get("headers", ()):
                    if name == _REPLAYED:
                        answer[1] = value == b"true"
                    elif name == _REQUEST_ID:
                        answer[2] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watching)
        finally:
            fault = fault_of(scope)
            args = (
                scope["method"],
                (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
                answer[0],
                (time.perf_counter() - started) * 1000,
                answer[1],
                self._key(scope),
                answer[2],
                fault.action if fault is not None else None,
            )
            # `Logger.info` would also walk the stack for the caller's file and line, which no line shows.
            if log.isEnabledFor(logging.INFO):
                log.handle(log.makeRecord(LOGGER, logging.INFO, __file__, 0, TEMPLATE, args, None))

    def _key(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name in self._key_headers:
                return str(value.decode("latin-1"))
        return None


class TextFormatter(logging.Formatter):
    """`<UTC time> <method> <path> <status> <latency>ms replayed=… key=… request_id=…[ fault=…]`."""

    def format(self, record: logging.LogRecord) -> str:
        args = _request_args(record)
        if args is None:
            return super().format(record)
        method, path, status, latency, replayed, key, request_id, fault = args
        flag = "-" if replayed is None else "true" if replayed else "false"
        line = (
            f"{_timestamp(record)} {method} {_shown(path)} {status} {latency:.1f}ms replayed={flag} "
            f"key={_shown(key)} request_id={_shown(request_id)}"
        )
        return f"{line} fault={fault}" if fault else line


class JsonFormatter(logging.Formatter):
    """One JSON object per request: `time` and the fields of `FIELDS` (null where a request has none)."""

    def format(self, record: logging.LogRecord) -> str:
        args = _request_args(record)
        if args is None:
            return json.dumps({"time": _timestamp(record), "message": record.getMessage()})
        fields = dict(zip(FIELDS, args, strict=True))
        fields["latencyMs"] = round(fields["latencyMs"], 3)
        for name in ("key", "requestId"):
            if fields[name] is not None:
                fields[name] = fields[name][:MAX_VALUE]
        return json.dumps({"time": _timestamp(record), **fields}, separators=(",", ":"))


def _request_args(record: logging.LogRecord) -> tuple[Any, ...] | None:
    """The values of `FIELDS`, when the record is one of this middleware's."""
    args = record.args
    if record.msg == TEMPLATE and isinstance(args, tuple) and len(args) == len(FIELDS):
        return args
    return None


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    # Requests come many to a second: the date and time are formatted once per second.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def _timestamp(record: logging.LogRecord) -> str:
    return f"{_second(int(record.created))}.{int(record.msecs):03d}Z"


def _shown(value: str | None) -> str:
    """A value as the text line shows it: as is when plain, else quoted and escaped (a line stays one line)."""
    if not value:
        return "-"
    if len(value) <= MAX_VALUE and _PLAIN.fullmatch(value):
        return value
    return json.dumps(value[:MAX_VALUE])
