"""Behaviour profiles: `published` follows the published page; `matcher` reproduces Matcher 2.1 as it runs.

A profile is data read by small seams (validation messages, where the idempotency engine sits, the rules'
refusals, the rate limit, auth), never a second copy of the mock. The `matcher` profile's spec is derived
from `openapi.yaml` by `derive_spec`, so that it documents what that profile answers and Schemathesis can
judge it too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from callback_kit.contract import CALLBACK_PATH

ProfileName = Literal["published", "matcher"]
DEFAULT_TENANT = "11111111-1111-1111-1111-111111111111"


@dataclass(frozen=True)
class Profile:
    """What differs between the published contract and the reference implementation."""

    name: ProfileName
    replay_header_on_first: bool  # send `X-Idempotency-Replayed: false` on first processing
    replay_before_validation: bool  # the idempotency engine sits before request validation
    hash_key_without_key: bool  # a request without a key is deduplicated by a hash of its body
    dedup_layer: bool  # the second deduplication layer (system + exception + key)
    exact_messages: bool  # the reference's fixed 400 texts instead of messages naming the field
    server_errors: bool  # 500 for unknown status values and forbidden transitions, as the reference
    auth_by_default: bool
    rate_limit_per_minute: int | None
    retry_after: bool  # Retry-After on the in-flight 409 and the rate limit's 429
    raw_path_in_scope: bool  # the key's scope takes the path as spelled (Matcher) instead of lower-cased
    forbidden_as_text: bool  # the RBAC 403 is plain text `Forbidden`


PUBLISHED = Profile(
    name="published",
    replay_header_on_first=True,
    replay_before_validation=False,
    hash_key_without_key=False,
    dedup_layer=False,
    exact_messages=False,
    server_errors=False,
    auth_by_default=True,
    rate_limit_per_minute=None,
    retry_after=True,
    raw_path_in_scope=False,
    forbidden_as_text=False,
)
MATCHER = Profile(
    name="matcher",
    replay_header_on_first=False,
    replay_before_validation=True,
    hash_key_without_key=True,
    dedup_layer=True,
    exact_messages=True,
    server_errors=True,
    auth_by_default=False,
    rate_limit_per_minute=60,
    retry_after=False,
    raw_path_in_scope=True,
    forbidden_as_text=True,
)
PROFILES: dict[str, Profile] = {"published": PUBLISHED, "matcher": MATCHER}


def derive_spec(spec: dict[str, Any], profile: Profile, *, auth: bool) -> dict[str, Any]:
    """The spec of a profile: `openapi.yaml` changed where the profile answers differently."""
    if profile.name == "published" and auth:
        return spec
    derived = copy.deepcopy(spec)
    if not auth:
        derived["security"] = []
        derived["paths"][CALLBACK_PATH]["post"]["security"] = []
        derived["components"].pop("securitySchemes", None)  # no scheme is in force: declare none
    if profile.name != "matcher":
        return derived
    components = derived["components"]
    info = derived["info"]
    info["title"] += " (matcher parity profile)"
    info["description"] = (
        "Derived by the callback contract kit from openapi.yaml for `callback-kit serve --profile matcher`: "
        "Matcher 2.1's endpoint as it behaves today, quirks included. openapi.yaml is the source of truth; "
        "this document is generated from it (`callback-kit spec --profile matcher`) and is not edited by hand."
        "\n\n" + _without_source_of_truth(info["description"])
    )
    params = components["parameters"]
    params["IdempotencyKey"]["required"] = True
    params["RequestId"]["schema"] = {"type": "string"}  # Matcher sanitises the id instead of refusing it
    # The reference reads the alias only as a fallback key, and ignores it when X-Idempotency-Key is present.
    params["IdempotencyKeyAlias"]["schema"] = {"type": "string"}
    operation = derived["paths"][CALLBACK_PATH]["post"]
    idempotency = operation["x-idempotency"]
    idempotency["errors"]["inFlight"].pop("retryAfterSeconds", None)  # Matcher sends none
    idempotency["onDisagreeingHeaders"] = "precedence"  # Matcher reads X-Idempotency-Key, else Idempotency-Key
    ok_headers = operation["responses"]["200"]["headers"]
    ok_headers["X-Idempotency-Replayed"] = {
        "required": False,
        "description": "Present, as `true`, only on a replay.",
        "schema": {"type": "string", "enum": ["true"]},
    }
    body = components["schemas"]["CallbackRequest"]
    body.pop("anyOf", None)  # the assignee rule is checked when applying (400), not by the schema
    payload = components["schemas"]["CallbackPayload"]["properties"]
    for key in payload:  # Matcher ignores a payload value that is not a string, and answers 500 to a bad date
        payload[key] = {"description": "Read as a fallback when it is a string; a malformed date is a 500."}
    # Matcher reads a null payload as no payload. (It reads any null field as absent; the profile keeps the
    # published contract's refusal of the other nulls, which section 6 of the reference does not list.)
    components["schemas"]["CallbackPayload"]["nullable"] = True  # (OpenAPI 3.0 allows no `nullable` beside `$ref`)
    body["properties"]["status"] = {
        "type": "string",
        "minLength": 1,
        "description": "Any letter case; a value that is not a status is answered 500 (MTCH-0002).",
    }
    for name in ("externalSystem", "externalIssueId"):
        blank_rule = body["properties"][name].pop("pattern")
    # A blank field is accepted when a fallback carries the value, as Matcher reads them.
    body["allOf"] = [
        _present(blank_rule, "externalSystem", ["callbackType"], ["external_system", "externalSystem"]),
        _present(blank_rule, "externalIssueId", [], ["external_issue_id", "externalIssueID"]),
        _present(blank_rule, "status", [], ["status"]),
    ]
    responses = components["responses"]
    responses["TooManyRequests"]["headers"].pop("Retry-After", None)
    responses["Conflict"]["description"] += (
        " `MTCH-0504`: the same callback (system, exception, key) is being processed."
    )
    responses["InternalError"]["description"] = (
        "`MTCH-0002`: an unknown status value, or a transition the current status forbids (as Matcher 2.1)."
    )
    responses["Forbidden"]["content"]["text/plain"] = {"schema": {"type": "string"}, "example": "Forbidden"}
    return derived


def _without_source_of_truth(description: str) -> str:
    """openapi.yaml's description without its paragraph saying it is the source of truth (a derived spec is not)."""
    paragraphs = description.split("\n\n")
    return "\n\n".join(p for p in paragraphs if "single source of truth" not in p)


def _present(rule: str, name: str, siblings: list[str], payload_keys: list[str]) -> dict[str, Any]:
    """A schema for "`name` is not blank, or one of its fallbacks is not"."""
    options: list[dict[str, Any]] = [{"properties": {n: {"pattern": rule}}, "required": [n]} for n in [name, *siblings]]
    options += [
        {
            "required": ["payload"],
            "properties": {"payload": {"required": [key], "properties": {key: {"type": "string", "pattern": rule}}}},
        }
        for key in payload_keys
    ]
    return {"description": f"{name}, or a fallback for it, is not blank.", "anyOf": options}
