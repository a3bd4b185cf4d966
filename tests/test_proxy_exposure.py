"""The proxy warns, as the mock does, when it listens beyond loopback with the published admin token."""

from __future__ import annotations

import pytest

from callback_kit.mock_server.proxy import ProxySettings
from callback_kit.mock_server.proxy.serve import exposure_warning

UPSTREAM = "http://127.0.0.1:9"


def test_a_proxy_on_every_interface_with_the_published_admin_token_is_warned_about() -> None:
    """0.0.0.0 and the fixtures' admin token: one warning naming the admin API and the options that fix it."""
    warning = exposure_warning(ProxySettings(upstream=UPSTREAM, host="0.0.0.0", port=8081))
    assert warning == (
        "warning: listening on 0.0.0.0 with the published admin token: anyone who can reach port 8081 can use "
        "the admin API (/_mock/); give your own --admin-token, or --host 127.0.0.1"
    )


@pytest.mark.parametrize(
    ("host", "admin_token"), [("127.0.0.1", None), ("::1", None), ("0.0.0.0", "our-own-admin-token")]
)
def test_a_proxy_on_loopback_or_with_its_own_admin_token_is_not_warned_about(
    host: str, admin_token: str | None
) -> None:
    """Loopback, or any host with an admin token of one's own: no warning."""
    assert exposure_warning(ProxySettings(upstream=UPSTREAM, host=host, admin_token=admin_token)) is None
