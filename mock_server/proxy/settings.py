"""The proxy's settings, declared once like the mock's (`mock_server.settings`): each field carries its `Option`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from callback_kit.contract import default_spec_path
from callback_kit.mock_server.proxy.upstream import shown_url
from callback_kit.mock_server.settings import given_options, option, options

UPSTREAM_EXAMPLE = "https://matcher.staging.example.com"


@dataclass(frozen=True)
class ProxySettings:
    """Everything the proxy needs; `callback-kit proxy` builds it from its options."""

    upstream: str | None = field(
        default=None,
        metadata=option(
            "--upstream", metavar="URL", help=f"base URL of the real server to forward to, e.g. {UPSTREAM_EXAMPLE}"
        ),
    )
    host: str = field(
        default="127.0.0.1",
        metadata=option(
            "--host",
            metavar="HOST",
            env="CALLBACK_KIT_PROXY_HOST",
            help="interface to listen on; any other than loopback lets others use the admin API",
        ),
    )
    port: int = field(
        default=8081,
        metadata=option(
            "--port",
            metavar="N",
            env="CALLBACK_KIT_PROXY_PORT",
            minimum=0,
            maximum=65535,
            bounds="1..65535, or 0 for any free port",
            help="port to listen on: 1..65535, or 0 for any free port (the banner shows the one bound)",
        ),
    )
    spec_path: Path = field(
        default_factory=default_spec_path,
        metadata=option(
            "--spec", metavar="PATH", default_text="the kit's openapi.yaml", help="the spec every exchange is judged by"
        ),
    )
    store_url: str = field(
        default="memory://",
        metadata=option(
            "--store",
            metavar="URL",
            env="CALLBACK_KIT_PROXY_STORE",
            help="where the journal, fault rules and first answers live: memory://, sqlite:///ABSOLUTE/PATH or "
            "redis://HOST:PORT/DB",
        ),
    )
    admin_token: str | None = field(
        default=None,
        repr=False,
        metadata=option(
            "--admin-token", metavar="TOKEN", default_text="the fixtures' kit-admin-token", help="token of /_mock/"
        ),
    )

    def __post_init__(self) -> None:
        for name, declared in options(ProxySettings):
            try:
                declared.check(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{declared.flag} {exc}") from None
        parts = urlsplit(self.upstream or "")
        shown = repr(shown_url(self.upstream)) if self.upstream else "is required"
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"--upstream {shown}: give the real server's http(s) base URL, e.g. {UPSTREAM_EXAMPLE}")
        if parts.username is not None or parts.password is not None:
            # httpx would send them as Basic auth in place of the client's own Authorization header.
            raise ValueError(
                f"--upstream {shown} carries a user or password: give the URL without them, e.g. {UPSTREAM_EXAMPLE} "
                "(the proxy forwards each client's own Authorization header)"
            )

    @property
    def upstream_base(self) -> str:
        """The upstream URL without a trailing slash (a path prefix is kept)."""
        return (self.upstream or "").rstrip("/")

    @classmethod
    def from_options(cls, values: dict[str, Any]) -> ProxySettings:
        """Settings from parsed option values keyed by field name (None or absent: the field's default)."""
        return cls(**given_options(cls, values))
