"""State stores behind the one `Store` interface, chosen by URL.

memory://                   one process, nothing kept (tests)
sqlite:///ABSOLUTE/PATH     the embedded default: survives restarts, shared by the workers of one machine
                            (sqlite:///tmp/mock.sqlite3 is the file /tmp/mock.sqlite3; the four-slash spelling
                            sqlite:////tmp/mock.sqlite3 names the same file, and is shown in the first spelling)
redis://HOST:PORT/DB        shared by workers and replicas behind a load balancer
                            (`?namespace=name` keeps several mocks apart on one Redis database; the proxy's
                            default is `callback-kit-proxy`, the mock's `callback-kit`)
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from callback_kit.mock_server.types import Store

__all__ = ["StoreURLError", "check_location", "default_store_url", "describe", "open_store", "sqlite_url"]

MOCK_NAMESPACE = "callback-kit"

DEFAULT_SQLITE = Path("var") / "mock.sqlite3"
_EXAMPLE = "e.g. sqlite:///tmp/mock.sqlite3, redis://127.0.0.1:6379/0 or memory://"


class StoreURLError(ValueError):
    """The store URL names no known backend, is malformed, or names a place that cannot hold a store."""


def open_store(url: str, *, namespace: str = MOCK_NAMESPACE) -> Store:
    """The store a URL names (a Redis one under `namespace` unless the URL gives its own); nothing is connected
    until first use."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from callback_kit.mock_server.stores.memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from callback_kit.mock_server.stores.sqlite import SQLiteStore

        return SQLiteStore(str(sqlite_path(url)))
    if scheme in ("redis", "rediss"):
        from callback_kit.mock_server.stores.redis import RedisStore

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        namespace = _redis_namespace(url, query.pop("namespace", namespace))
        try:
            return RedisStore(urlunsplit(parts._replace(query=urlencode(query))), namespace=namespace)
        except ValueError as exc:  # redis-py refuses a malformed URL (a port that is not a number, ...)
            raise StoreURLError(f'Store URL "{describe(url)}" is not a valid Redis URL ({exc}), {_EXAMPLE}') from None
    raise StoreURLError(f'Store URL "{url}" must start with memory://, sqlite:/// or redis://, {_EXAMPLE}')


def default_store_url(cwd: Path | None = None) -> str:
    """`callback-kit serve`'s store: the SQLite file var/mock.sqlite3 under the working directory."""
    return sqlite_url((cwd or Path.cwd()) / DEFAULT_SQLITE)


def sqlite_url(path: Path) -> str:
    """The one spelling of a SQLite store URL: `sqlite://` and the absolute path (sqlite:///tmp/mock.sqlite3)."""
    return f"sqlite://{path.absolute()}"


def sqlite_path(url: str) -> Path:
    """The file a `sqlite:` URL names."""
    path = url[len("sqlite://") :] if url.startswith("sqlite://") else ""
    if not path.startswith("/") or not path.strip("/"):
        raise StoreURLError(
            f'Store URL "{url}" must name a file by its absolute path, as sqlite:///ABSOLUTE/PATH, '
            "e.g. sqlite:///tmp/mock.sqlite3"
        )
    return Path("/" + path.lstrip("/"))


def _redis_namespace(url: str, namespace: str) -> str:
    if not namespace.replace("-", "").replace("_", "").isalnum():
        raise StoreURLError(
            f'Store URL "{describe(url)}": namespace must be one or more letters, digits, "-" or "_", '
            "e.g. ?namespace=team-a"
        )
    return namespace


def describe(url: str) -> str:
    """The URL as messages show it: SQLite in its one spelling, a Redis password hidden."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return sqlite_url(sqlite_path(url))
    if parts.password:
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    return url


def check_location(url: str) -> None:
    """Refuse a SQLite file whose folder does not exist (the backend would wait for it, answering 503), and a
    Redis database that is no number (redis-py would quietly use database 0)."""
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise StoreURLError(
                f'Store URL "{describe(url)}": the database "{database}" must be a number, as redis://HOST:PORT/DB, '
                "e.g. redis://127.0.0.1:6379/1"
            )
        open_store(url)  # the namespace, the port: everything redis-py would refuse later
        return
    if parts.scheme != "sqlite":
        return
    path = sqlite_path(url)
    if path.is_dir():
        raise StoreURLError(f'Store URL "{sqlite_url(path)}" names a folder; name a file, e.g. {path}/mock.sqlite3')
    if not path.parent.is_dir():
        raise StoreURLError(
            f'Store URL "{sqlite_url(path)}": the folder {path.parent} does not exist; create it, or name a file '
            "in a folder that does"
        )
