"""Bearer authentication of the callback endpoint (`mock_server/auth.py`): static tokens, HS256 JWTs, and
the permission `callback:process`; every outcome as the client sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from callback_kit.mock_server.app import create_app
from callback_kit.mock_server.settings import Settings
from tests.mock_client import (
    ACME_ASSIGNED,
    ACME_OPEN,
    ACME_SERVICENOW_TOKEN,
    ACME_TOKEN,
    ACME_VIEWER_TOKEN,
    ADMIN_TOKEN,
    GLOBEX,
    GLOBEX_OPEN,
    GLOBEX_TOKEN,
    JWT_SECRET,
    UNKNOWN_ID,
    Mock,
    assert_error,
    body,
    make_jwt,
)

MISSING = "missing authorization token"
INVALID = "invalid authorization token"


@pytest.fixture
def mock() -> Iterator[Mock]:
    """A fresh mock with the default settings."""
    with Mock() as running:
        yield running


def assert_unauthorized(response: httpx.Response, message: str) -> None:
    """401 `MTCH-0003` with `message` and a Bearer challenge."""
    assert_error(response, 401, "MTCH-0003", message)
    assert response.headers["www-authenticate"].startswith("Bearer")


def raw_authorization(mock: Mock, value: str, exception_id: str = ACME_ASSIGNED) -> httpx.Response:
    return mock.callback(exception_id, body(), token=None, headers={"Authorization": value})


# --- accepted tokens ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "exception_id"),
    [(ACME_TOKEN, ACME_OPEN), (ACME_SERVICENOW_TOKEN, ACME_OPEN), (GLOBEX_TOKEN, GLOBEX_OPEN)],
    ids=["acme-jira", "acme-servicenow", "globex"],
)
def test_static_token_with_the_permission_is_accepted(mock: Mock, token: str, exception_id: str) -> None:
    """Each static token of the fixtures that holds `callback:process` may send callbacks for its tenant."""
    assert mock.callback(exception_id, body(), token=token).status_code == 200


def test_jwt_with_the_permission_in_a_list_is_accepted(mock: Mock) -> None:
    """An HS256 JWT with `sub`, `tenant_id`, `exp` and `permissions: [callback:process]` is accepted."""
    assert mock.callback(ACME_OPEN, body(), token=make_jwt(permissions=["callback:process"])).status_code == 200


def test_jwt_with_the_permission_in_its_scope_is_accepted(mock: Mock) -> None:
    """The permission may come from a space-separated `scope` claim instead."""
    token = make_jwt(permissions=None, scope="exception:read callback:process")
    assert mock.callback(ACME_OPEN, body(), token=token).status_code == 200


def test_jwt_acts_for_the_tenant_it_names(mock: Mock) -> None:
    """A JWT's `tenant_id` decides whose exceptions it reaches."""
    token = make_jwt(tenant_id=GLOBEX)
    assert mock.callback(GLOBEX_OPEN, body(), token=token).status_code == 200


def test_jwt_cannot_reach_another_tenants_exception(mock: Mock) -> None:
    """A JWT of one tenant gets 404 for another tenant's exception."""
    assert_error(mock.callback(ACME_OPEN, body(), token=make_jwt(tenant_id=GLOBEX)), 404, "MTCH-0501")


def test_jwt_subject_is_the_principal(mock: Mock) -> None:
    """The journal names a JWT's caller by its `sub`."""
    mock.callback(ACME_OPEN, body(), token=make_jwt(sub="robot-7"))
    assert mock.journal()[0]["principal"] == "robot-7"


def test_jwt_secret_comes_from_the_settings() -> None:
    """`Settings(jwt_secret=...)` replaces the fixtures' secret: only JWTs signed with it are accepted."""
    secret = "another-secret-of-at-least-32-bytes"
    with Mock(Settings(jwt_secret=secret)) as mock:
        assert mock.callback(ACME_OPEN, body(), token=make_jwt(secret=secret)).status_code == 200
        assert_unauthorized(mock.callback(ACME_OPEN, body(), token=make_jwt(secret=JWT_SECRET)), INVALID)


def test_jwt_secret_shorter_than_hs256_needs_is_refused_at_start() -> None:
    """A configured JWT secret under 32 bytes (RFC 7518 section 3.2) stops the app from being built."""
    with pytest.raises(ValueError, match="at least 32 bytes"):
        create_app(Settings(jwt_secret="too-short-secret"))


def test_bearer_scheme_name_is_case_insensitive(mock: Mock) -> None:
    """`bearer <token>` is the same as `Bearer <token>` (RFC 7235)."""
    assert raw_authorization(mock, f"bearer {ACME_TOKEN}").status_code == 200


# --- 401: no usable token -----------------------------------------------------------------------------------


def test_request_without_token_is_401_missing(mock: Mock) -> None:
    """No Authorization header is 401 `missing authorization token` with a Bearer challenge."""
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=None), MISSING)


def test_basic_credentials_are_refused_with_401(mock: Mock) -> None:
    """`Authorization: Basic ...` is not a bearer token: 401."""
    assert_unauthorized(raw_authorization(mock, "Basic YWNtZTpzZWNyZXQ="), MISSING)


def test_bearer_scheme_without_token_is_refused_with_401(mock: Mock) -> None:
    """`Authorization: Bearer` alone is refused with 401 `MTCH-0003`."""
    response = raw_authorization(mock, "Bearer")
    assert_error(response, 401, "MTCH-0003")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unknown_static_token_is_401_invalid(mock: Mock) -> None:
    """A token that is neither a fixture token nor a JWT is 401 `invalid authorization token`."""
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token="no-such-token"), INVALID)


def test_static_token_is_case_sensitive(mock: Mock) -> None:
    """A fixture token in other letters is another, unknown token."""
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=ACME_TOKEN.upper()), INVALID)


@pytest.mark.parametrize("token", ["a.b.c", "eyJhbGciOiJIUzI1NiJ9.not-base64!.sig", "..", "x.y"])
def test_garbled_jwt_is_401_invalid(mock: Mock, token: str) -> None:
    """A token shaped like a JWT that does not decode is 401 `invalid authorization token`."""
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=token), INVALID)


def test_expired_jwt_is_401_invalid(mock: Mock) -> None:
    """A JWT whose `exp` has passed is 401 `invalid authorization token`."""
    token = make_jwt(exp=int(time.time()) - 60)
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=token), INVALID)


def test_jwt_signed_with_another_secret_is_401_invalid(mock: Mock) -> None:
    """A JWT with a wrong signature is 401 `invalid authorization token`."""
    token = make_jwt(secret="not-the-callback-kit-secret-0123456789")
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=token), INVALID)


def test_unsigned_jwt_is_401_invalid(mock: Mock) -> None:
    """A JWT with `alg: none` is refused whatever its claims."""
    claims = {"sub": "robot", "tenant_id": GLOBEX, "exp": int(time.time()) + 60, "permissions": ["callback:process"]}
    token = jwt.encode(claims, None, algorithm="none")
    assert_unauthorized(mock.callback(GLOBEX_OPEN, body(), token=token), INVALID)


@pytest.mark.parametrize("claim", ["sub", "tenant_id", "exp"])
def test_jwt_missing_a_required_claim_is_401_invalid(mock: Mock, claim: str) -> None:
    """`sub`, `tenant_id` and `exp` are each required."""
    left_out: dict[str, Any] = {claim: None}
    token = make_jwt(**left_out)
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=token), INVALID)


@pytest.mark.parametrize(("claim", "value"), [("sub", 42), ("sub", ""), ("tenant_id", ["t"]), ("tenant_id", "")])
def test_jwt_with_an_unusable_identity_claim_is_401_invalid(mock: Mock, claim: str, value: object) -> None:
    """`sub` and `tenant_id` must be non-empty strings."""
    unusable: dict[str, Any] = {claim: value}
    token = make_jwt(**unusable)
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=token), INVALID)


def test_jwt_not_yet_valid_is_401_invalid(mock: Mock) -> None:
    """A JWT whose `nbf` lies in the future is refused."""
    token = make_jwt(nbf=int(time.time()) + 3600)
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=token), INVALID)


def test_admin_token_cannot_send_callbacks(mock: Mock) -> None:
    """The admin token is not a callback token: 401."""
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=ADMIN_TOKEN), INVALID)


# --- 403: valid token without the permission ----------------------------------------------------------------


def test_static_token_without_the_permission_is_403(mock: Mock) -> None:
    """The viewer token is valid but lacks `callback:process`: 403 `MTCH-0004`."""
    response = mock.callback(ACME_OPEN, body(), token=ACME_VIEWER_TOKEN)
    assert_error(response, 403, "MTCH-0004", "token lacks the permission 'callback:process'")


@pytest.mark.parametrize(
    "claims",
    [{"permissions": ["exception:read"]}, {"permissions": None, "scope": "exception:read"}, {"permissions": None}],
    ids=["permissions", "scope", "none"],
)
def test_jwt_without_the_permission_is_403(mock: Mock, claims: dict[str, Any]) -> None:
    """A valid JWT whose permissions or scope lack `callback:process` is 403 `MTCH-0004`."""
    assert_error(mock.callback(ACME_OPEN, body(), token=make_jwt(**claims)), 403, "MTCH-0004")


def test_refused_token_changes_nothing(mock: Mock) -> None:
    """A callback refused with 403 leaves the exception as it was."""
    before = mock.exception(ACME_OPEN)
    mock.callback(ACME_OPEN, body(), token=ACME_VIEWER_TOKEN)
    assert mock.exception(ACME_OPEN) == before


# --- order of the checks ------------------------------------------------------------------------------------


def test_authentication_comes_before_body_validation(mock: Mock) -> None:
    """Without a token, an invalid body is still answered 401, not 400."""
    assert_unauthorized(mock.callback(ACME_OPEN, {"status": "NOPE"}, token=None), MISSING)


def test_authentication_comes_before_path_validation(mock: Mock) -> None:
    """Without a token, a malformed exception id is still answered 401."""
    assert_unauthorized(mock.callback("not-a-uuid", body(), token=None), MISSING)


def test_authentication_comes_before_the_exception_lookup(mock: Mock) -> None:
    """An unknown token gets 401 even for an exception that does not exist."""
    assert_unauthorized(mock.callback(UNKNOWN_ID, body(), token="no-such-token"), INVALID)


def test_permission_check_comes_before_the_exception_lookup(mock: Mock) -> None:
    """A token without the permission gets 403 even for an exception that does not exist."""
    assert_error(mock.callback(UNKNOWN_ID, body(), token=ACME_VIEWER_TOKEN), 403, "MTCH-0004")


def test_authentication_comes_before_idempotency_key_checks(mock: Mock) -> None:
    """Without a token, a malformed idempotency key is still answered 401."""
    assert_unauthorized(mock.callback(ACME_OPEN, body(), token=None, key="bad key!"), MISSING)
