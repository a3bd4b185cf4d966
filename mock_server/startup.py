"""What `run(settings)` checks and prepares before the mock is announced, each refusal one `StartupError` line,
in this order:

    the spec and the app     a spec the mock cannot serve, an unreadable token file, a short JWT secret
    the exposure             a warning when a host beyond loopback serves the kit's published credentials
    the socket               bound by the kit itself, so that a port in use is said at once, in one line, and
                             --port 0 is announced with the port it got; uvicorn and its workers serve on it
    the store                its SQLite folder exists (the default ./var/ is created), it answers (or, with
                             --wait-for-store, answers in time)
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from callback_kit.mock_server.errors import StoreUnavailable
from callback_kit.mock_server.settings import Settings
from callback_kit.mock_server.stores import (
    StoreURLError,
    check_location,
    default_store_url,
    describe,
    open_store,
    sqlite_path,
)

if TYPE_CHECKING:
    from callback_kit.mock_server.auth import TokenTable

POLL_SECONDS = 0.25
BACKLOG = 2048  # uvicorn's default


class StartupError(Exception):
    """The mock cannot start as configured; the message says why, and what to do, in one line."""


def check_spec(settings: Settings) -> None:
    """Refuse a spec the mock cannot serve, naming its first problem."""
    from callback_kit.contract.lint import check_spec as problems_of
    from callback_kit.contract.spec import SpecProblem

    try:
        problems = problems_of(settings.spec_path)
    except SpecProblem as exc:
        raise StartupError(str(exc)) from None
    if problems:
        more = f" (and {len(problems) - 1} more: callback-kit lint {settings.spec_path})" if len(problems) > 1 else ""
        raise StartupError(f"{settings.spec_path} is not a spec the mock can serve: {problems[0]}{more}")


def prepare_store(settings: Settings, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
    """Create the default ./var/, check the SQLite folder, and wait (up to --wait-for-store) for the store."""
    url = settings.store_url
    if url == default_store_url():
        folder = sqlite_path(url).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(f"cannot create {folder} for the default store: {exc.strerror}; give --store") from None
    try:
        check_location(url)
        asyncio.run(_wait_for_store(url, settings.wait_for_store, say, clock))
    except StoreURLError as exc:
        raise StartupError(str(exc)) from None


async def _wait_for_store(url: str, seconds: float, say: Callable[[str], None], clock: Callable[[], float]) -> None:
    store = open_store(url)
    deadline = clock() + seconds
    said = False
    try:
        while True:
            try:
                await store.ping()
                return
            except StoreURLError as exc:  # the store answered, and refuses the URL
                raise StoreURLError(f'Store URL "{describe(url)}": {exc}') from None
            except StoreUnavailable as exc:
                reason = str(exc.__cause__ or exc.message)
                if clock() >= deadline:
                    if seconds:
                        raise StartupError(
                            f"the store {describe(url)} did not answer within {seconds:g} s ({reason})"
                        ) from None
                    raise StartupError(
                        f"the store {describe(url)} does not answer ({reason}); start it, or give "
                        "--wait-for-store SECONDS to wait for it"
                    ) from None
                if not said:
                    say(f"waiting up to {seconds:g} s for the store {describe(url)} ({reason})")
                    said = True
            await asyncio.sleep(POLL_SECONDS)
    finally:
        await store.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, inheritable by uvicorn's workers; a refusal says why in one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening now: a client that connects after the banner waits in the backlog instead of being refused.
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise StartupError(_bind_problem(host, port, exc)) from None
    sock.set_inheritable(True)
    return sock


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is in use; choose another --port, or --port 0 for any free one"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges); choose another --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine; choose another --host"
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {where}: the host {host!r} is unknown ({exc.strerror}); e.g. --host 127.0.0.1"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def bound_url(sock: socket.socket) -> str:
    """The URL the socket serves, with the port it really got (for --port 0)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def exposure_warning(settings: Settings) -> str | None:
    """A warning when the mock, on a host beyond loopback, serves credentials the kit publishes (or no auth)."""
    if not _beyond_loopback(settings.host):
        return None
    from callback_kit.mock_server.auth import TokenTable
    from callback_kit.mock_server.profiles import PROFILES

    tokens = TokenTable.load(
        settings.tokens_file or settings.fixtures_path / "tokens.json",
        jwt_secret=settings.jwt_secret,
        admin_token=settings.admin_token,
    )
    auth = PROFILES[settings.profile].auth_by_default if settings.auth is None else settings.auth
    return published_exposure(settings.host, settings.port, tokens, auth=auth)


def published_exposure(host: str, port: int, tokens: TokenTable, *, auth: bool) -> str | None:
    """A warning when a host beyond loopback serves `tokens` holding what the kit publishes (or no auth at all)."""
    if not _beyond_loopback(host):
        return None
    from callback_kit.mock_server.auth import TokenTable
    from callback_kit.resources import fixtures_dir

    published_table = TokenTable.load(fixtures_dir() / "tokens.json")
    published: dict[str, str] = {}  # what is published -> the option that replaces it
    if auth and set(tokens.tokens) & set(published_table.tokens):
        published["tokens"] = "--tokens"
    if auth and tokens.jwt_secret is not None and tokens.jwt_secret == published_table.jwt_secret:
        published["JWT secret"] = "--jwt-secret"
    if tokens.admin_token == published_table.admin_token:
        published["admin token"] = "--admin-token"
    if auth and not published:
        return None
    held = ([] if auth else ["auth off"]) + ([f"the published {_listed(list(published))}"] if published else [])
    fixes = ([] if auth else ["--auth on"]) + ([f"your own {_listed(list(published.values()))}"] if published else [])
    shown_port = f"port {port}" if port else "the port"
    can = (["send callbacks"] if not auth or set(published) - {"admin token"} else []) + (
        ["use the admin API (/_mock/)"] if "admin token" in published else []
    )
    return (
        f"warning: listening on {host} with {' and '.join(held)}: anyone who can reach {shown_port} can "
        f"{' and '.join(can)}; give {' and '.join(fixes)}, or --host 127.0.0.1"
    )


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _beyond_loopback(host: str) -> bool:
    """True unless every address the host stands for is a loopback one."""
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:  # unknown: binding will say so
        return False
    return not all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses)
