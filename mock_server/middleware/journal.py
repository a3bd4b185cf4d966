"""The request journal: every callback request, refused ones included, with what the mock answered.

It sits before the security step, so it also sees the requests that security refuses (401, 403) and those
that validation rejects. A refused request's caller is unknown: its entry carries `credential`, a digest of
the Authorization header keyed with the admin token (`auth.credential_digest`), never the token. An entry is
written before the last byte of the response is sent, so a client that has its answer can read the entry
straight away.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callback_kit.mock_server.auth import credential_digest, principal_of
from callback_kit.mock_server.clock import Clock, iso
from callback_kit.mock_server.errors import MockError, from_exception
from callback_kit.mock_server.faults import fault_of
from callback_kit.mock_server.middleware.idempotency import claim_of, fingerprint
from callback_kit.mock_server.middleware.moment import later_of
from callback_kit.mock_server.scope import CallbackLayer, exception_id, parsed_body, request_id, stashed
from callback_kit.mock_server.types import Store

BODY_LIMIT = 16 * 1024
REFUSED = frozenset({401, 403})
log = logging.getLogger(__name__)


class JournalMiddleware(CallbackLayer):
    """Records one journal entry per callback request."""

    def __init__(self, app: ASGIApp, *, store: Store, clock: Clock, key_headers: list[str], credential_key: bytes):
        super().__init__(app)
        self._credential_key = credential_key
        self.store = store
        self.clock = clock
        self._key_headers = [name.lower().encode("latin-1") for name in key_headers]

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        chunks: list[bytes] = []
        answer: dict[str, Any] = {"status": 0, "replayed": None, "body": b""}
        unread = [True]  # the client's body has more to read

        async def capturing() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            unread[0] = message["type"] == "http.request" and message.get("more_body", False)
            return message

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"x-idempotency-replayed":
                        answer["replayed"] = value == b"true"
                    elif name == b"retry-after":
                        answer["retry_after"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                if answer["status"] >= 400:
                    answer["body"] += message.get("body", b"")
                if not message.get("more_body", False):
                    await self._write(scope, chunks, answer, started)
            await send(message)

        try:
            await self.app(scope, capturing, recording)
        except BaseException as exc:
            error = from_exception(exc)
            answer.update(status=error.status, code=error.code, message=error.message)
            answer["retry_after"] = error.headers.get("Retry-After")
            if error.status in REFUSED:
                # Security refuses before any layer reads the body: read it, so the entry shows what was sent.
                with contextlib.suppress(Exception):
                    while unread[0]:
                        await capturing()
            await self._write(scope, chunks, answer, started)
            raise

    async def _write(self, scope: Scope, chunks: list[bytes], answer: dict[str, Any], started: float) -> None:
        principal = principal_of(scope)
        headers = dict(scope["headers"])
        key = next((headers[n].decode("latin-1") for n in self._key_headers if n in headers), None)
        claim = claim_of(scope)
        fault = fault_of(scope)
        body = b"".join(chunks)
        if "code" not in answer and answer["body"]:
            answer.update(_error_fields(answer["body"]))
        entry = {
            "at": iso(await later_of(scope, self.clock)),
            "requestId": request_id(scope),
            "tenant": principal.tenant if principal else None,
            "principal": principal.subject if principal else None,
            "method": scope["method"],
            "path": scope["path"],
            "exceptionId": exception_id(scope),
            "idempotencyKey": key,
            "keyHeader": next((n.decode() for n in self._key_headers if n in headers), None),
            "body": body[:BODY_LIMIT].decode("utf-8", "replace"),
            "fingerprint": claim.fingerprint if claim else _fingerprint(scope, body),
            "status": answer["status"],
            "code": answer.get("code"),
            "message": answer.get("message"),
            "replayed": answer["replayed"],
            "retryAfter": _seconds(answer.get("retry_after")),
            "fault": fault.describe() if fault else None,
            "claimed": claim is not None,
            "latencyMs": round((time.perf_counter() - started) * 1000, 3),
            "applied": stashed(scope, "applied", bool) is True,  # a replay or a deduplicated 200 is not
            "credential": credential_digest(scope, self._credential_key) if answer["status"] in REFUSED else None,
        }
        try:
            await self.store.append_journal(entry)
        except MockError as exc:
            log.warning("journal entry %s not written: %s", entry["requestId"], exc.message)


def _fingerprint(scope: Scope, body: bytes) -> str | None:
    return fingerprint(body, parsed_body(scope, body)) if body else None


def _error_fields(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return {"code": data.get("code"), "message": data.get("message")} if isinstance(data, dict) else {}


def _seconds(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
