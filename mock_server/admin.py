"""The admin API under `/_mock/`: provision exceptions, reset, read the journal and keys, move the clock."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse, Response

from callback_kit.contract.schemas import parse_rfc3339
from callback_kit.mock_server.auth import Authenticator
from callback_kit.mock_server.clock import Clock, iso
from callback_kit.mock_server.errors import BadRequest, Conflict, MockError, NotFound
from callback_kit.mock_server.faults import FIRING_WINDOW, firings, parse_rule, with_remaining
from callback_kit.mock_server.middleware.moment import RULES
from callback_kit.mock_server.report import build_report
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.mock_server.types import ExceptionRecord, Store

INSPECTOR = Path(__file__).with_name("inspector.html")


def exception_json(record: ExceptionRecord) -> dict[str, Any]:
    """An exception as the admin API shows it (camelCase, like the callback body)."""
    data = asdict(record)
    return {
        "id": data["id"],
        "tenant": data["tenant"],
        "status": data["status"],
        "version": data["version"],
        "assignee": data["assignee"],
        "dueAt": data["due_at"],
        "resolutionNotes": data["resolution_notes"],
        "externalSystem": data["external_system"],
        "externalIssueId": data["external_issue_id"],
        "updatedAt": data["updated_at"],
        "callbacks": list(record.callbacks),
        "appliedCallbacks": len(record.callbacks),
    }


class AdminApi:
    """The admin operations, bound to one app's store."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        authenticator: Authenticator,
        fixtures: Path,
        anonymous_tenant: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.authenticator = authenticator
        self.fixtures = fixtures
        # With auth off every caller is this tenant, so an exception "for the tenant of a token" is its.
        self.anonymous_tenant = anonymous_tenant

    async def list_exceptions(self, tenant: str | None = None) -> JSONResponse:
        records = await self.store.list_exceptions(tenant)
        return JSONResponse([exception_json(r) for r in sorted(records, key=lambda r: (r.tenant, r.id))])

    async def get_exception(self, exception_id: str) -> JSONResponse:
        record = await self.store.get_exception(None, exception_id.lower())
        if record is None:
            raise NotFound("exception not found")
        return JSONResponse(exception_json(record))

    async def create_exception(self, body: dict[str, Any]) -> JSONResponse:
        tenant = body.get("tenant")
        if body.get("ownerToken") and self.anonymous_tenant is not None:
            tenant = self.anonymous_tenant
        elif body.get("ownerToken"):
            try:
                tenant = self.authenticator.identify(body["ownerToken"]).tenant
            except MockError:
                raise BadRequest(
                    "ownerToken is not a valid callback token", details={"field": "ownerToken", "rule": "token"}
                ) from None
        if not tenant:
            raise BadRequest(
                "give the owning tenant as tenant (an id) or ownerToken (a token of that tenant)",
                details={"field": "tenant", "rule": "required"},
            )
        exception_id = (body.get("id") or str(uuid.uuid4())).lower()
        if await self.store.get_exception(None, exception_id) is not None:
            raise Conflict(f"exception {exception_id} exists already", code="MTCH-0508")
        due_at = body.get("dueAt")
        record = ExceptionRecord(
            id=exception_id,
            tenant=tenant,
            status=body["status"],
            assignee=body.get("assignee") or ("provisioned@callback-kit.test" if body["status"] != "OPEN" else None),
            due_at=parse_rfc3339(due_at) if due_at else None,
            resolution_notes=body.get("resolutionNotes"),
            external_system=body.get("externalSystem"),
            external_issue_id=body.get("externalIssueId"),
            updated_at=iso(await self.clock.now()),
        )
        await self.store.put_exception(record)
        return JSONResponse(exception_json(record), status_code=201)

    async def reset_state(self) -> JSONResponse:
        records = load_exceptions(self.fixtures)
        await self.store.seed(records, replace=True)
        return JSONResponse({"exceptions": len(records)})

    async def get_journal(self, limit: int = 200) -> JSONResponse:
        entries = await self.store.journal(limit)
        return JSONResponse(list(reversed(entries)))

    async def get_report(self, limit: int = 1000) -> JSONResponse:
        entries = await self.store.journal(limit)
        return JSONResponse(build_report(entries))

    async def get_inspector(self) -> Response:
        return Response(INSPECTOR.read_bytes(), media_type="text/html; charset=utf-8")

    async def get_health(self) -> JSONResponse:
        """200 while the store answers a ping; its `StoreUnavailable` becomes the 503 with `Retry-After`."""
        await self.store.ping()
        # A health answer is about this moment: no proxy or client may serve it from a cache.
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def get_idempotency_records(self) -> JSONResponse:
        records = await self.store.idempotency_records(await self.clock.now())
        return JSONResponse(records)

    async def get_clock(self) -> JSONResponse:
        return JSONResponse(await self._clock())

    async def set_clock(self, body: dict[str, Any]) -> JSONResponse:
        await self.clock.set_offset(float(body["offsetSeconds"]))
        return JSONResponse(await self._clock())

    async def _clock(self) -> dict[str, Any]:
        return {"now": iso(await self.clock.now()), "offsetSeconds": await self.clock.offset()}

    async def list_faults(self) -> JSONResponse:
        rules = await self._rules()
        fired = [await self.store.hits(firings(r["id"]), FIRING_WINDOW[0]) if r.get("times") else 0 for r in rules]
        return JSONResponse([with_remaining(rule, n) for rule, n in zip(rules, fired, strict=True)])

    async def add_fault(self, body: dict[str, Any]) -> JSONResponse:
        rule = parse_rule(body)
        rules = [r for r in await self._rules() if r["id"] != rule["id"]]
        await self.store.set_setting(RULES, json.dumps([*rules, rule]))
        fired = await self.store.hits(firings(rule["id"]), FIRING_WINDOW[0]) if rule.get("times") else 0
        return JSONResponse(with_remaining(rule, fired), status_code=201)

    async def clear_faults(self) -> Response:
        await self.store.set_setting(RULES, None)
        return Response(status_code=204)

    async def delete_fault(self, rule_id: str) -> Response:
        rules = await self._rules()
        kept = [r for r in rules if r["id"] != rule_id]
        if len(kept) == len(rules):
            raise NotFound(f"no fault rule {rule_id!r}", code="MTCH-0509")
        await self.store.set_setting(RULES, json.dumps(kept) if kept else None)
        return Response(status_code=204)

    async def _rules(self) -> list[dict[str, Any]]:
        raw = await self.store.get_setting(RULES)
        return list(json.loads(raw)) if raw else []

    def operations(self) -> dict[str, Any]:
        """operationId → handler, for the resolver."""
        return {
            "listExceptions": self.list_exceptions,
            "createException": self.create_exception,
            "getException": self.get_exception,
            "resetState": self.reset_state,
            "getJournal": self.get_journal,
            "getReport": self.get_report,
            "getInspector": self.get_inspector,
            "getHealth": self.get_health,
            "getIdempotencyRecords": self.get_idempotency_records,
            "getClock": self.get_clock,
            "setClock": self.set_clock,
            "listFaults": self.list_faults,
            "addFault": self.add_fault,
            "clearFaults": self.clear_faults,
            "deleteFault": self.delete_fault,
        }
