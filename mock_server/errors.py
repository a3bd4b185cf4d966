"""The mock's errors, and the one place that renders an HTTP error.

    MockError                      every error the mock answers with (status, code, message)
    ├── BadRequest(ValueError)     400 MTCH-0001: the request breaks the contract
    ├── KeyInvalid(ValueError)     400 MTCH-0015: a malformed or ambiguous idempotency key
    ├── Unauthorized               401 MTCH-0003
    ├── Forbidden                  403 MTCH-0004
    ├── NotFound(LookupError)      404 MTCH-0501
    ├── Conflict                   409: a transition the current status forbids, or a key in flight
    ├── PayloadTooLarge            413 MTCH-0010
    ├── BodyMismatch               422 MTCH-0019
    ├── RateLimited                429 MTCH-0506
    ├── StoreUnavailable           503 MTCH-0020
    └── ClaimLost                  409 MTCH-0018: the key's claim expired before the callback was applied

Every error body is `{code, title, message, details?}` as `application/json`, whatever raised it.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

JSON = "application/json"


class MockError(Exception):
    """An error the mock answers with; its attributes are the HTTP answer."""

    status = 500
    code = "MTCH-0002"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.details = details
        self.headers = headers or {}


class BadRequest(MockError, ValueError):
    status, code = 400, "MTCH-0001"


class KeyInvalid(MockError, ValueError):
    status, code = 400, "MTCH-0015"


class Unauthorized(MockError):
    status, code = 401, "MTCH-0003"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="matcher"'})


class Forbidden(MockError):
    status, code = 403, "MTCH-0004"


class NotFound(MockError, LookupError):
    status, code = 404, "MTCH-0501"


class Conflict(MockError):
    status, code = 409, "MTCH-0507"


class ClaimLost(Conflict):
    code = "MTCH-0018"


class PayloadTooLarge(MockError):
    status, code = 413, "MTCH-0010"


class BodyMismatch(MockError):
    status, code = 422, "MTCH-0019"


class RateLimited(MockError):
    status, code = 429, "MTCH-0506"


class StoreUnavailable(MockError):
    status, code = 503, "MTCH-0020"

    def __init__(self, message: str = "the state store is unavailable", *, retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


def error_body(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    """The contract's error body, serialised."""
    body: dict[str, Any] = {"code": code, "title": reason_phrase(status), "message": message}
    if details:
        body["details"] = details
    return json.dumps(body, separators=(",", ":")).encode()


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def render(error: MockError) -> Response:
    """The one renderer of HTTP errors."""
    return Response(
        error_body(error.status, error.code, error.message, error.details),
        status_code=error.status,
        media_type=JSON,
        headers=error.headers,
    )


def from_exception(exc: BaseException) -> MockError:
    """Any exception raised while answering, as the contract's error (Connexion's and Starlette's included)."""
    if isinstance(exc, MockError):
        return exc
    # Imported here: the error vocabulary above must not depend on the web framework.
    from connexion.exceptions import ProblemException
    from starlette.exceptions import HTTPException

    if isinstance(exc, ProblemException):
        return _from_problem(exc.status, str(exc.detail or exc.title or ""), dict(exc.headers or {}))
    if isinstance(exc, HTTPException):
        error = MockError(str(exc.detail), code=f"MTCH-{exc.status_code:04d}", headers=dict(exc.headers or {}))
        error.status = exc.status_code
        return error
    return MockError("an unexpected error occurred")


def _from_problem(status: int, detail: str, headers: dict[str, str]) -> MockError:
    if status in (401, 403):
        from callback_kit.mock_server.auth import from_security_problem  # auth imports this module

        return from_security_problem(status, detail)
    if status == 415:
        return BadRequest(
            f"{detail}: send the body as application/json",
            details={"field": "Content-Type", "rule": "media type"},
        )
    if 400 <= status < 500:
        error = MockError(detail, code="MTCH-0001", headers=headers)
    else:
        error = MockError("an unexpected error occurred", headers=headers)
    error.status = status
    return error
