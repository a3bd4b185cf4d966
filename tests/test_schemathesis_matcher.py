"""Schemathesis judges the matcher profile against the spec the kit derives for it, and finds nothing wrong."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.mock_server import Settings, create_app
from callback_kit.mock_server.profiles import DEFAULT_TENANT, MATCHER, derive_spec
from callback_kit.mock_server.seed import load_exceptions
from callback_kit.mock_server.stores.memory import MemoryStore

SPEC = derive_spec(load_spec(), MATCHER, auth=False)
CONTRACT = idempotency_contract(SPEC)
STORE = MemoryStore()
RECORDS = load_exceptions(Settings().fixtures_path)
DEFAULT_IDS = [r.id for r in RECORDS if r.tenant == DEFAULT_TENANT]
ID_PATTERN = re.compile(SPEC["components"]["parameters"]["ExceptionId"]["schema"]["pattern"])

schema = schemathesis.openapi.from_dict(SPEC, config=SchemathesisConfig.from_path("tests/schemathesis-matcher.toml"))
schema.app = create_app(Settings(profile="matcher"), store=STORE)
CASES = {"n": 0}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_matcher_profile_conforms_to_its_derived_spec(case: Any) -> None:
    """Every generated request gets an answer the derived spec allows."""
    CASES["n"] += 1
    if CASES["n"] % 25 == 1:
        asyncio.run(STORE.seed(RECORDS, replace=True))
    headers = case.headers or {}
    # A fresh valid key for each case: a replay comes before validation in this profile, so a reused key
    # would answer an invalid request with a stored 200.
    if CONTRACT.key_pattern.fullmatch(str(headers.get("X-Idempotency-Key", ""))):
        headers["X-Idempotency-Key"] = str(uuid.uuid4())
    case.headers = headers
    exception_id = (case.path_parameters or {}).get("exceptionId")
    if exception_id and ID_PATTERN.fullmatch(str(exception_id)) and CASES["n"] % 5:
        case.path_parameters["exceptionId"] = DEFAULT_IDS[CASES["n"] % len(DEFAULT_IDS)]
    case.call_and_validate()
