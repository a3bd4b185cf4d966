"""The mock as a server: `run(settings)`, which `callback-kit serve` calls, and `app()`, the uvicorn factory each
worker process builds its app with (from the settings its parent left in `CALLBACK_KIT_SETTINGS`).

`run` checks everything a user can get wrong before it says a word (`startup`), binds the socket itself, and
only then announces the address it really got; uvicorn serves on that socket, in this process or in workers.
"""

from __future__ import annotations

import contextlib
import copy
import logging.config
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

import callback_kit.mock_server.quiet  # noqa: F401  (first: it silences a warning Connexion's import raises)
from callback_kit.mock_server.app import create_app
from callback_kit.mock_server.middleware import access_log
from callback_kit.mock_server.middleware.cut_short import STOP_GRACE_SECONDS, CutShortMiddleware
from callback_kit.mock_server.middleware.drop_connection import DropConnectionMiddleware
from callback_kit.mock_server.settings import ENV_SETTINGS, LogFormat, Settings
from callback_kit.mock_server.startup import (
    StartupError,
    bind,
    bound_url,
    check_spec,
    exposure_warning,
    prepare_store,
)
from callback_kit.mock_server.stores import describe

__all__ = ["StartupError", "app", "build", "run"]
PREFIX = "callback-kit serve"


class Stopped(BaseException):
    """Ctrl-C or SIGTERM before the server runs (a BaseException, so that no `except Exception` swallows it)."""


class Stopper:
    """The handler of Ctrl-C and SIGTERM: before the server exists, abort the start; once it does, ask it to stop.

    A signal that lands between the two (the server created, its own handlers not yet installed) must not
    raise inside asyncio's start-up. uvicorn re-raises the signal it handled once it has shut down: that one
    lands here too, on a server that has stopped already, and is absorbed.
    """

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.server is None:
            raise Stopped
        self.server.should_exit = True


class Server(uvicorn.Server):
    """uvicorn's server, but a second Ctrl-C or SIGTERM while it stops is ignored rather than a forced exit.

    The stop is bounded already (`STOP_GRACE_SECONDS`); a forced one would cancel the app's lifespan and its
    requests mid-way, each with a traceback.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.should_exit:
            super().handle_exit(sig, frame)


def server_options() -> dict[str, Any]:
    """The uvicorn options the mock and the proxy share: no access log of uvicorn's, and a bounded stop."""
    return {"access_log": False, "timeout_graceful_shutdown": STOP_GRACE_SECONDS}


def app() -> ASGIApp:
    """The app factory (`uvicorn callback_kit.mock_server.asgi:app --factory`)."""
    return build(Settings.from_env(os.environ))


def build(settings: Settings) -> ASGIApp:
    """The mock's ASGI app, wrapped in the layers that must sit outside Connexion."""
    return DropConnectionMiddleware(CutShortMiddleware(create_app(settings)))


def run(settings: Settings) -> int:
    """Check, bind, announce and serve until Ctrl-C or SIGTERM (then 0). A configuration problem: `StartupError`."""
    return until_stopped(lambda stopper: _run(settings, stopper), PREFIX)


def until_stopped(serve: Callable[[Stopper], int], prefix: str) -> int:
    """`serve`, with Ctrl-C and SIGTERM turned into a clean stop ("stopped", 0) and the handlers put back after."""
    stopper = Stopper()
    previous = {sig: signal.signal(sig, stopper) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return serve(stopper)
    except (KeyboardInterrupt, Stopped):
        _say("stopped", prefix)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run(settings: Settings, stopper: Stopper) -> int:
    # First: the stack asks the logging set-up whether the request log is on when the app is built.
    config = log_config(settings)
    logging.config.dictConfig(config)
    check_spec(settings)
    try:
        application = build(settings)
    except (OSError, ValueError) as exc:
        raise StartupError(str(exc)) from None
    warning = exposure_warning(settings)
    if warning:
        _say(warning)
    # The port before the store: a port in use is said at once, not after --wait-for-store.
    sock = bind(settings.host, settings.port)
    try:
        prepare_store(settings, _say)
    except BaseException:
        _close(sock)
        raise
    _say(
        f"mock on {bound_url(sock)} (store {describe(settings.store_url)}, {settings.workers} "
        f"worker{'s' if settings.workers > 1 else ''}); Swagger UI at /ui/, admin API at /_mock/docs/",
        prefix="callback-kit",
    )
    options: dict[str, Any] = {"log_config": config, "log_level": settings.log_level, **server_options()}
    try:
        if settings.workers == 1:
            server = stopper.server = Server(uvicorn.Config(application, **options))
            server.run(sockets=[sock])
            started = server.started
        else:
            # Each worker rebuilds the settings from the environment it inherits, and its app from them.
            os.environ[ENV_SETTINGS] = settings.to_env()
            shared = uvicorn.Config(f"{__name__}:app", factory=True, workers=settings.workers, **options)
            Multiprocess(shared, sockets=[sock]).run()
            started = True
    except SystemExit as exc:  # uvicorn gives up this way when the app's start-up fails
        raise StartupError(f"the mock did not start (uvicorn exit {exc.code}); see the messages above") from None
    finally:
        _close(sock)
    if not started:
        raise StartupError("the mock did not start; see the messages above")
    _say("stopped")
    return 0


def log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging set-up plus the kit's: the request log on stdout (unless --quiet), diagnostics on stderr.

    Worker processes apply it before they import anything else of the kit, so its formatter is named through
    this module (`request_log_formatter`), which imports `quiet` before Connexion.
    """
    from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["request_log"] = {"()": f"{__name__}.request_log_formatter", "log_format": settings.log_format}
    config["handlers"]["request_log"] = {
        "class": "logging.StreamHandler",
        "formatter": "request_log",
        "stream": "ext://sys.stdout",
    }
    config["loggers"][access_log.LOGGER] = {
        "handlers": [] if settings.quiet else ["request_log"],
        "level": "WARNING" if settings.quiet else "INFO",
        "propagate": False,
    }
    config["loggers"]["callback_kit"] = {
        "handlers": ["default"],
        "level": LOG_LEVELS[settings.log_level],
        "propagate": False,
    }
    return config


def request_log_formatter(log_format: LogFormat) -> logging.Formatter:
    """The request log's formatter for `--log-format`."""
    return access_log.JsonFormatter() if log_format == "json" else access_log.TextFormatter()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by uvicorn's shutdown
        sock.close()


def _say(message: str, prefix: str = PREFIX) -> None:
    print(f"{prefix}: {message}", file=sys.stderr, flush=True)
