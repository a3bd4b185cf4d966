"""The callback's one validation path (set up once per operation, dates read directly, body parsed once)
accepts and refuses exactly what jsonschema over the spec's schema does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, FormatChecker

from callback_kit.contract import load_spec
from callback_kit.contract.refs import inline
from callback_kit.contract.schemas import parse_general, parse_rfc3339
from callback_kit.mock_server import validation
from tests.mock_client import UNKNOWN_ID, Mock

SPEC = load_spec()
CHECKER = FormatChecker()
CHECKER.checks("date-time")(lambda value: not isinstance(value, str) or parse_general(value) is not None)
REFERENCE = Draft4Validator(inline(SPEC, SPEC["components"]["schemas"]["CallbackRequest"]), format_checker=CHECKER)

DATES = st.one_of(
    st.datetimes().map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})?\Z"),
    st.sampled_from(["2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2016-12-31T23:59:60Z", "0000-01-01T00:00:00Z"]),
    st.text(max_size=24),
)
TEXT = st.one_of(
    st.sampled_from(["", " ", "JIRA", "RESOLVED", "resolved", "ASSIGNED", "OPEN", "PENDING_RESOLUTION", "x" * 300]),
    DATES,
    st.text(max_size=8),
)
VALUES = st.one_of(TEXT, st.none(), st.integers(), st.booleans(), st.lists(TEXT, max_size=2))
FIELDS = [
    "externalSystem",
    "externalIssueId",
    "status",
    "callbackType",
    "resolutionNotes",
    "assignee",
    "dueAt",
    "updatedAt",
]
BODIES = st.dictionaries(st.sampled_from([*FIELDS, "payload", "other"]), VALUES)


@pytest.fixture(scope="module")
def mock() -> Iterator[Mock]:
    """One mock for every example (each sends a fresh key to an exception that does not exist)."""
    with Mock() as running:
        yield running


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(text=DATES)
def test_the_direct_date_reading_agrees_with_the_general_one(text: str) -> None:
    """The common UTC spelling, read directly, gives what the general RFC 3339 reading gives, for any text."""
    assert parse_rfc3339(text) == parse_general(text)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    body=st.fixed_dictionaries(
        {"externalSystem": st.just("JIRA"), "externalIssueId": st.just("J-1"), "status": st.just("OPEN")}
    ).flatmap(lambda base: BODIES.map(lambda extra: {**base, **extra}))
)
def test_the_mock_refuses_exactly_what_jsonschema_refuses(mock: Mock, body: dict[str, Any]) -> None:
    """A body the spec's schema refuses is a 400 of the validation step; any other passes validation."""
    response = mock.callback(UNKNOWN_ID, body, key=str(uuid.uuid4()))
    refused = response.status_code == 400 and response.json()["message"].startswith("invalid request body")
    assert refused == (not REFERENCE.is_valid(body)), (response.status_code, response.text)


def test_the_validators_are_built_once_per_operation(mock: Mock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Callbacks after the first build no parameter or body validator (Connexion built them per request)."""
    assert mock.callback(UNKNOWN_ID, key=str(uuid.uuid4())).status_code == 404
    built: list[str] = []
    for kind in (validation.CallbackParameterValidator, validation.CallbackBodyValidator):
        original = kind.__init__

        def counting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(kind, "__init__", counting)
    statuses = {mock.callback(UNKNOWN_ID, key=str(uuid.uuid4())).status_code for _ in range(3)}
    assert statuses == {404}
    assert built == []
