"""The fast body check (jsonschema-rs) never accepts a body the spec's Python validator refuses."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callback_kit.contract import default_spec_path, load_spec
from callback_kit.mock_server.profiles import MATCHER, PUBLISHED, Profile, derive_spec
from callback_kit.mock_server.validation import _fast_validator, _schema_validator


def body_schema(profile: Profile) -> dict[str, Any]:
    """The body schema as Connexion hands it to the validators: resolved, with the components beside it."""
    spec = derive_spec(load_spec(default_spec_path()), profile, auth=True)
    return {**spec["components"]["schemas"]["CallbackRequest"], "components": spec["components"]}


SCHEMAS = {profile.name: body_schema(profile) for profile in (PUBLISHED, MATCHER)}
TEXT = st.one_of(
    st.sampled_from(["", " ", "\t", "JIRA", "jira", "RESOLVED", "resolved", "ASSIGNED", "OPEN", "PENDING_RESOLUTION"]),
    st.sampled_from(["2026-11-07T05:31:56Z", "2026-11-07T05:31:56Z\n", "2026-11-07", "2026-13-01T00:00:00Z"]),
    st.text(max_size=8),
    st.text(min_size=250, max_size=260),
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
    "other",
]
PAYLOAD = st.dictionaries(st.sampled_from(["assignee", "due_at", "dueAt", "status", "external_system", "x"]), VALUES)
BODIES = st.dictionaries(st.sampled_from(FIELDS), VALUES).flatmap(
    lambda body: st.one_of(st.just(body), PAYLOAD.map(lambda payload: {**body, "payload": payload}))
)


def python_accepts(schema: dict[str, Any], body: Any) -> bool:
    return next(iter(_schema_validator(schema).iter_errors(body)), None) is None


def test_the_fast_check_is_built_for_both_profiles() -> None:
    """jsonschema-rs takes the published and the derived body schemas (else the fast path would be off)."""
    assert all(_fast_validator(schema) is not None for schema in SCHEMAS.values())


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(body=BODIES, profile=st.sampled_from(sorted(SCHEMAS)))
def test_whatever_the_fast_check_accepts_the_spec_accepts(body: dict[str, Any], profile: str) -> None:
    """For any body, fast-valid implies valid for the Python validator (the authority on refusals)."""
    schema = SCHEMAS[profile]
    if _fast_validator(schema).is_valid(body):
        assert python_accepts(schema, body), body


def test_both_agree_on_the_examples_of_the_spec() -> None:
    """The spec's own request examples are valid for both."""
    operation = load_spec()["paths"]["/v1/exceptions/{exceptionId}/callback"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"].values()
    schema = SCHEMAS["published"]
    for example in examples:
        assert _fast_validator(schema).is_valid(example["value"])
        assert python_accepts(schema, example["value"])
