"""The admin API of a running mock (`/_mock/`) over HTTP: each call returns the decoded answer or raises one error
that names the call and what the mock said."""

from __future__ import annotations

from typing import Any

import httpx


class MockAdminError(RuntimeError):
    """The mock's admin API could not be reached, or refused a call."""


class AdminClient:
    """Calls `/_mock/...` of the mock at `base_url` with the admin token; one connection pool, closed by `close()`."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=f"{base_url}/_mock", headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    def call(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """The JSON answer of `method /_mock{path}` (None for an empty answer); `MockAdminError` when it fails."""
        what = f"{method} {self.base_url}/_mock{path}"
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise MockAdminError(f"{what}: the mock did not answer ({exc or type(exc).__name__})") from exc
        if response.status_code >= 400:
            raise MockAdminError(f"{what} answered {response.status_code}: {_said(response)}")
        return response.json() if response.content else None

    def close(self) -> None:
        self._http.close()


def _said(response: httpx.Response) -> str:
    """The mock's error as one line: its code and message, or the start of whatever else it sent."""
    try:
        error = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(error, dict) and "message" in error:
        return f"{error.get('code')} {error['message']}"
    return response.text[:200]
