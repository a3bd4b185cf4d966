"""State stores behind the one `Store` interface, chosen by URL.

memory://                 one process, nothing kept (tests)
sqlite:///path/to/file    the embedded default: survives restarts, shared by the workers of one machine
redis://host:port/db      shared by workers and replicas behind a load balancer
                          (`?namespace=name` keeps several mocks apart on one Redis database)
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from callback_kit.mock_server.types import Store

__all__ = ["StoreURLError", "open_store"]


class StoreURLError(ValueError):
    """The store URL names no known backend or is malformed."""


def open_store(url: str) -> Store:
    """The store a URL names; nothing is connected until first use."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        from callback_kit.mock_server.stores.memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from callback_kit.mock_server.stores.sqlite import SQLiteStore

        path = url[len("sqlite://") :]
        if not path.startswith("/") or path == "/":
            raise StoreURLError(
                f'Store URL "{url}" must name a file as sqlite:///absolute/path, e.g. sqlite:///tmp/mock.sqlite3'
            )
        return SQLiteStore(path)
    if scheme in ("redis", "rediss"):
        from callback_kit.mock_server.stores.redis import RedisStore

        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        namespace = query.pop("namespace", "callback-kit")
        if not namespace.replace("-", "").replace("_", "").isalnum():
            raise StoreURLError(f'Store URL "{url}": namespace must be letters, digits, "-" or "_"')
        return RedisStore(urlunsplit(parts._replace(query=urlencode(query))), namespace=namespace)
    raise StoreURLError(
        f'Store URL "{url}" must start with memory://, sqlite:/// or redis://, e.g. redis://127.0.0.1:6379/0'
    )
