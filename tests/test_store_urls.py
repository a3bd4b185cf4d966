"""Store URLs (`mock_server.stores`): one spelling of SQLite URLs, Redis passwords hidden, and a clear line for
each URL that cannot hold a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from callback_kit.mock_server.stores import (
    StoreURLError,
    check_location,
    default_store_url,
    describe,
    open_store,
    sqlite_url,
)


def test_sqlite_urls_have_one_spelling(tmp_path: Path) -> None:
    """A SQLite URL is sqlite:// and the absolute path; SQLAlchemy's four-slash form names the same file."""
    assert sqlite_url(tmp_path / "m.db") == f"sqlite://{tmp_path}/m.db"
    assert describe(f"sqlite:///{tmp_path}/m.db") == f"sqlite://{tmp_path}/m.db"
    assert describe(f"sqlite://{tmp_path}/m.db") == f"sqlite://{tmp_path}/m.db"


def test_default_store_is_var_under_the_working_directory(tmp_path: Path) -> None:
    """`callback-kit serve` keeps its state in ./var/mock.sqlite3."""
    assert default_store_url(tmp_path) == f"sqlite://{tmp_path}/var/mock.sqlite3"


def test_relative_sqlite_path_is_refused() -> None:
    """A SQLite URL without an absolute path is refused with the form and an example."""
    with pytest.raises(StoreURLError, match="must name a file by its absolute path, as sqlite:///ABSOLUTE/PATH"):
        open_store("sqlite://mock.db")


def test_redis_password_is_hidden() -> None:
    """Messages and the banner show a Redis URL without its password."""
    assert describe("redis://user:pa55@127.0.0.1:6379/0") == "redis://user:***@127.0.0.1:6379/0"
    assert describe("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_malformed_redis_url_is_refused() -> None:
    """A Redis URL whose port is no number is refused naming it."""
    with pytest.raises(StoreURLError, match=r'Store URL "redis://h:abc/0" is not a valid Redis URL'):
        open_store("redis://h:abc/0")


@pytest.mark.parametrize("database", ["abc", "-1", "1.5"])
def test_redis_database_that_is_no_number_is_refused(database: str) -> None:
    """A Redis database must be a number: redis-py would otherwise use database 0 without a word."""
    with pytest.raises(StoreURLError, match=f'the database "{database}" must be a number, as redis://HOST:PORT/DB'):
        check_location(f"redis://127.0.0.1:6379/{database}")


def test_empty_redis_namespace_is_refused() -> None:
    """`?namespace=` with nothing after it is refused, not read as the default namespace."""
    with pytest.raises(StoreURLError, match='namespace must be one or more letters, digits, "-" or "_"'):
        check_location("redis://127.0.0.1:6379/9?namespace=")


def test_unknown_scheme_lists_the_known_ones() -> None:
    """An unknown scheme names the three a store can have, with examples."""
    with pytest.raises(StoreURLError, match=r"must start with memory://, sqlite:/// or redis://, e\.g\. "):
        open_store("postgres://db/mock")


def test_sqlite_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """The folder of a SQLite file must exist: serve refuses instead of answering 503 until it does."""
    with pytest.raises(StoreURLError, match=f"the folder {tmp_path}/missing does not exist"):
        check_location(f"sqlite://{tmp_path}/missing/m.db")


def test_sqlite_url_naming_a_folder_is_refused(tmp_path: Path) -> None:
    """A SQLite URL that names a folder is refused with an example file in it."""
    with pytest.raises(StoreURLError, match=f"names a folder; name a file, e.g. {tmp_path}/mock.sqlite3"):
        check_location(f"sqlite://{tmp_path}")


def test_usable_locations_pass(tmp_path: Path) -> None:
    """A file in an existing folder, Redis and memory pass the check."""
    for url in (f"sqlite://{tmp_path}/m.db", "redis://127.0.0.1:6379/0", "memory://"):
        check_location(url)
