"""The proxy's one adapter to the mock's journal: an exchange as a journal entry of the mock's shape, plus its
violations, so that the same admin API, retry report and inspector read it.

The caller is named by `ledger.credential_of` (never the credential itself), and every text taken from the
exchange passes through `reporting.redact` with the request's credential and the admin token.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from callback_kit.contract.checks import Violation
from callback_kit.contract.exchange import Exchange
from callback_kit.mock_server.errors import MockError
from callback_kit.mock_server.faults import Fault
from callback_kit.mock_server.middleware.idempotency import fingerprint
from callback_kit.mock_server.middleware.journal import BODY_LIMIT
from callback_kit.mock_server.types import Store
from callback_kit.reporting.redact import Secrets, redact

log = logging.getLogger(__name__)


def journal_entry(
    exchange: Exchange,
    *,
    at: str,
    request_id: str,
    caller: str,
    exception_id: str | None,
    key: str | None,
    key_header: str | None,
    claimed: bool,
    fault: Fault | None,
    violations: list[Violation],
    secrets: Secrets,
    replay_header: str,
) -> dict[str, Any]:
    """One journal entry; `violations` are listed by check name and message."""
    error = _error_fields(exchange) if exchange.status >= 400 else {}
    retry_after = exchange.header("retry-after")
    return {
        "at": at,
        "requestId": request_id,
        "tenant": None,  # the upstream's tenants are not known to the proxy: the caller names the client
        "principal": caller,
        "method": exchange.method,
        "path": exchange.path,
        "exceptionId": exception_id,
        "idempotencyKey": key,
        "keyHeader": key_header,
        "body": redact(exchange.request_body[:BODY_LIMIT].decode("utf-8", "replace"), secrets),
        "fingerprint": fingerprint(exchange.request_body) if exchange.request_body else None,
        "status": exchange.status,
        "code": error.get("code"),
        "message": redact(str(error["message"]), secrets) if error.get("message") else None,
        "replayed": {"true": True, "false": False}.get(exchange.header(replay_header) or ""),
        "retryAfter": int(retry_after) if retry_after and retry_after.isdigit() else None,
        "fault": fault.describe() if fault else None,
        "claimed": claimed,
        # A retry of a key the proxy saw answered is the upstream's to replay: if it applied it again, that is
        # a violation of the server, not a finding against the client. Otherwise the report guesses from the answer.
        **({"applied": False} if key is not None and not claimed else {}),
        "latencyMs": round(exchange.elapsed * 1000, 3),
        "violations": [
            {"check": v.check, "message": redact(v.title, secrets), "expected": redact(v.expected, secrets)}
            for v in violations
        ],
    }


async def append(store: Store, entry: dict[str, Any]) -> None:
    """Write the entry; a store that fails is logged, never the client's problem."""
    try:
        await store.append_journal(entry)
    except MockError as exc:
        log.warning("journal entry %s not written: %s", entry["requestId"], exc.message)


def _error_fields(exchange: Exchange) -> dict[str, Any]:
    try:
        data = json.loads(exchange.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return {"code": data.get("code"), "message": data.get("message")} if isinstance(data, dict) else {}
