"""The specs Swagger UI reads name a usable server: the address they were read from (`middleware/served_spec.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callback_kit.mock_server.middleware.served_spec import DESCRIPTION
from tests.mock_client import Mock


@pytest.fixture
def mock() -> Iterator[Mock]:
    with Mock() as running:
        yield running


def test_the_callback_spec_names_the_base_url_it_was_read_from(mock: Mock) -> None:
    """GET /openapi.json lists one server, the request's own base URL, where Connexion left a blank one."""
    spec = mock.request("GET", "/openapi.json").json()
    assert spec["servers"] == [{"url": "http://mock.test", "description": DESCRIPTION}]
    assert "/v1/exceptions/{exceptionId}/callback" in spec["paths"]


def test_the_admin_spec_names_its_base_path_on_that_server(mock: Mock) -> None:
    """GET /_mock/openapi.json lists the admin API under /_mock of the same server."""
    assert [s["url"] for s in mock.request("GET", "/_mock/openapi.json").json()["servers"]] == [
        "http://mock.test/_mock"
    ]


def test_the_server_follows_the_host_the_client_addressed(mock: Mock) -> None:
    """Behind another name (a container, a proxy), the server is that name, not a fixed address."""
    answer = mock.request("GET", "/openapi.json", headers={"Host": "callbacks.example:9000"})
    assert answer.json()["servers"][0]["url"] == "http://callbacks.example:9000"
    assert answer.headers["content-length"] == str(len(answer.content))
