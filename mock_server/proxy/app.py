"""`create_proxy_app(settings)`: the proxy as one ASGI app, wired from the spec, a store and the upstream.

DropConnection          the lost-answer fault closes the client's connection (as around the mock)
CutShort                a request still held when the server stops is answered 503 (`middleware.cut_short`)
AccessLog               (unless the request log is off) one line per request, as the mock writes it
dispatch                /_mock/... and the lifespan -> the admin API (`proxy.admin`)
                        everything else -> the forwarding app (`proxy.forward`)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

import callback_kit.mock_server.quiet  # noqa: F401  (first: it silences a warning Connexion's import raises)
from callback_kit.contract import idempotency_contract, load_spec
from callback_kit.mock_server.auth import Authenticator, TokenTable
from callback_kit.mock_server.clock import Clock
from callback_kit.mock_server.middleware import access_log
from callback_kit.mock_server.middleware.cut_short import CutShortMiddleware
from callback_kit.mock_server.middleware.drop_connection import DropConnectionMiddleware
from callback_kit.mock_server.proxy.admin import ProxyAdmin, admin_app
from callback_kit.mock_server.proxy.forward import Context, Forwarder
from callback_kit.mock_server.proxy.settings import ProxySettings
from callback_kit.mock_server.proxy.upstream import Upstream
from callback_kit.mock_server.stores import open_store
from callback_kit.mock_server.types import Store
from callback_kit.resources import fixtures_dir

ADMIN_PREFIX = "/_mock"
# A Redis database shared with a mock keeps the two apart (`?namespace=` in --store chooses another).
NAMESPACE = "callback-kit-proxy"


def create_proxy_app(
    settings: ProxySettings,
    *,
    store: Store | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock_source: Callable[[], float] = time.time,
) -> ASGIApp:
    """The proxy; `transport` reaches the upstream another way than the network (an in-process app, in tests)."""
    spec = load_spec(settings.spec_path)
    contract = idempotency_contract(spec)
    store = store if store is not None else open_store(settings.store_url, namespace=NAMESPACE)
    clock = Clock(store, clock_source)
    tokens = TokenTable.load(fixtures_dir() / "tokens.json", admin_token=settings.admin_token)
    upstream = Upstream(settings.upstream_base, transport=transport)
    admin = ProxyAdmin(store, clock, Authenticator(tokens), fixtures_dir())

    async def shutdown() -> None:
        await upstream.close()
        await store.close()

    context = Context(spec, contract, store, clock, upstream, tokens.admin_token)
    app: ASGIApp = _Dispatch(admin_app(admin, shutdown), Forwarder(context))
    if access_log.enabled():
        app = access_log.AccessLogMiddleware(app, key_headers=list(contract.headers))
    return DropConnectionMiddleware(CutShortMiddleware(app))


class _Dispatch:
    """`/_mock/` (and the lifespan) to the admin API, the rest to the upstream."""

    def __init__(self, admin: ASGIApp, forward: ASGIApp) -> None:
        self.admin = admin
        self.forward = forward

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            await self.admin(scope, receive, send)
        else:
            await self.forward(scope, receive, send)
