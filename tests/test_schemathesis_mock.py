"""Schemathesis, in-process, with every check and phase over openapi.yaml, finds nothing wrong with the mock."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from callback_kit.contract import default_spec_path, idempotency_contract, load_spec
from callback_kit.mock_server import Settings, create_app
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.mock_server.stores.memory import MemoryStore

SPEC = default_spec_path()
CONTRACT = idempotency_contract(load_spec(SPEC))
STORE = MemoryStore()
APP = create_app(Settings(store_url="memory://"), store=STORE)
RECORDS = load_exceptions(Settings().fixtures_path)
ACME = "7c2e1b9a-4d35-4a8f-9b61-2f0d8e3c5a10"
ACME_IDS = [r.id for r in RECORDS if r.tenant == ACME]
ID_PATTERN = re.compile(load_spec(SPEC)["components"]["parameters"]["ExceptionId"]["schema"]["pattern"])

schema = schemathesis.openapi.from_path(SPEC, config=SchemathesisConfig.from_path("tests/schemathesis.toml"))
schema.app = APP


def prepare(case: Any, draw_index: int) -> None:
    """Fresh keys for schema-valid key headers, and seeded ids for schema-valid paths, so valid cases reach 200."""
    headers = case.headers or {}
    names = [n for n in CONTRACT.headers if n in headers]
    if names and all(CONTRACT.key_pattern.fullmatch(str(headers[n])) for n in names):
        # Different keys stay different under `precedence` (the first header wins), so that case is run too.
        apart = CONTRACT.on_disagreeing_headers == "precedence"
        shared = str(uuid.uuid4())
        fresh = {str(headers[n]): str(uuid.uuid4()) if apart else shared for n in names}
        for name in names:
            headers[name] = fresh[str(headers[name])]
    case.headers = headers
    exception_id = (case.path_parameters or {}).get("exceptionId")
    if exception_id and ID_PATTERN.fullmatch(str(exception_id)) and draw_index % 5:
        case.path_parameters["exceptionId"] = ACME_IDS[draw_index % len(ACME_IDS)]


@pytest.fixture(autouse=True, scope="module")
def seeded() -> None:
    asyncio.run(STORE.seed(RECORDS, replace=True))


COUNTER = {"n": 0}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_mock_conforms_to_the_spec(case: Any) -> None:
    """Every generated request gets an answer the spec allows, with the documented body and headers."""
    COUNTER["n"] += 1
    if COUNTER["n"] % 25 == 0:
        asyncio.run(STORE.seed(RECORDS, replace=True))
    prepare(case, COUNTER["n"])
    case.call_and_validate()


def test_the_configured_token_reaches_the_handler() -> None:
    """The token configured for the run is accepted: an all-401 run would pass Schemathesis silently."""
    asyncio.run(STORE.seed(RECORDS, replace=True))
    operation = schema["/v1/exceptions/{exceptionId}/callback"]["POST"]
    case = operation.Case(
        path_parameters={"exceptionId": ACME_IDS[0]},
        headers={"X-Idempotency-Key": str(uuid.uuid4()), "Authorization": "Bearer acme-integration-token"},
        body={"externalSystem": "JIRA", "externalIssueId": "RECON-1", "status": "RESOLVED"},
        media_type="application/json",
    )
    response = case.call_and_validate()
    assert response.status_code == 200
    assert response.headers["x-idempotency-replayed"] == ["false"]
