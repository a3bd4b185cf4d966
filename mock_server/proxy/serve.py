"""`run(settings)`, which `callback-kit proxy` calls: check, bind, announce, then serve with uvicorn until stopped.

The mock's start-up pieces are reused: its logging set-up (request log on stdout), its store checks and its
binding, so a port in use or a store that does not answer is one line and exit 2 before anything is announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging.config
import sys
from typing import Any

import uvicorn

from callback_kit.mock_server.asgi import Server, Stopper, log_config, server_options, until_stopped
from callback_kit.mock_server.auth import TokenTable
from callback_kit.mock_server.proxy.app import NAMESPACE, create_proxy_app
from callback_kit.mock_server.proxy.settings import ProxySettings
from callback_kit.mock_server.proxy.upstream import shown_url
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.startup import (
    StartupError,
    bind,
    bound_url,
    check_spec,
    prepare_store,
    published_exposure,
)
from callback_kit.mock_server.stores import describe, open_store
from callback_kit.resources import fixtures_dir

__all__ = ["StartupError", "exposure_warning", "run"]
PREFIX = "callback-kit proxy"


def run(settings: ProxySettings) -> int:
    """Serve until Ctrl-C or SIGTERM (then 0); a configuration problem raises `StartupError`."""
    return until_stopped(lambda stopper: _run(settings, stopper), PREFIX)


def _run(settings: ProxySettings, stopper: Stopper) -> int:
    # The mock's own checks and logging set-up read these two fields of its settings.
    logging_settings = Settings(store_url=settings.store_url, spec_path=settings.spec_path)
    check_spec(logging_settings)
    config = log_config(logging_settings)
    logging.config.dictConfig(config)
    try:
        application = create_proxy_app(settings)
    except (OSError, ValueError) as exc:
        raise StartupError(str(exc)) from None
    warning = exposure_warning(settings)
    if warning:
        _say(warning)
    sock = bind(settings.host, settings.port)
    try:
        prepare_store(logging_settings, _say)
        asyncio.run(_refuse_a_mocks_store(settings.store_url))
        _say(
            f"proxy on {bound_url(sock)} for {shown_url(settings.upstream_base)} "
            f"(store {describe(settings.store_url)}); "
            "admin API at /_mock/docs/, inspector at /_mock/ui",
            prefix="callback-kit",
        )
        # Neither a second Date nor a Server header: the upstream's answer goes out with its own only.
        options: dict[str, Any] = {"log_config": config, "log_level": "warning", **server_options()}
        options.update(server_header=False, date_header=False)
        server = stopper.server = Server(uvicorn.Config(application, **options))
        server.run(sockets=[sock])
    finally:
        with contextlib.suppress(OSError):  # already closed by uvicorn's shutdown
            sock.close()
    _say("stopped")
    return 0


def exposure_warning(settings: ProxySettings) -> str | None:
    """The mock's warning for a host beyond loopback, on the one credential the proxy checks: its admin token."""
    admin = TokenTable.load(fixtures_dir() / "tokens.json", admin_token=settings.admin_token).admin_token
    # Callbacks are the upstream's to authenticate: the proxy holds no callback tokens to give away.
    return published_exposure(settings.host, settings.port, TokenTable({}, admin, None), auth=True)


async def _refuse_a_mocks_store(url: str) -> None:
    """Refuse a store that holds a mock's exceptions: journals, fault rules and resets would mix with the mock's."""
    store = open_store(url, namespace=NAMESPACE)
    try:
        held = await store.list_exceptions(None)
    finally:
        await store.close()
    if held:
        raise StartupError(
            f"the store {describe(url)} holds a mock's state ({len(held)} exceptions): give the proxy its own, "
            "e.g. another SQLite file or Redis database, or memory://"
        )


def _say(message: str, prefix: str = PREFIX) -> None:
    print(f"{prefix}: {message}", file=sys.stderr, flush=True)
