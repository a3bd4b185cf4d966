"""A stateful mock of Matcher's exception-callback endpoint, driven by `openapi.yaml`."""

from __future__ import annotations

if __name__ != "callback_kit.mock_server":
    # The repository's folder imported as a top-level package (`python -m mock_server` in a checkout) would be
    # a second copy of the kit beside the installed one.
    import sys

    if sys.argv[:1] == ["-m"]:  # run as `python -m mock_server`: a usage mistake, said in one line
        sys.stderr.write(
            f"python -m {__name__} is no command of the kit: run .venv/bin/python -m callback_kit serve, with the "
            "venv's Python (or .venv/bin/callback-kit serve; ./kit serve sets the venv up)\n"
        )
        raise SystemExit(2)
    raise ImportError(f"import this folder as callback_kit.mock_server, not {__name__} (pip install -e . first)")

from typing import TYPE_CHECKING, Any

from callback_kit.mock_server.settings import Settings

if TYPE_CHECKING:  # imported on first use at run time (`__getattr__`)
    from callback_kit.mock_server.app import create_app
    from callback_kit.mock_server.asgi import build as serving_app

__all__ = ["Settings", "create_app", "serving_app"]


def __getattr__(name: str) -> Any:
    # The web framework is imported on first use only, so that the stores and the CLI start fast.
    if name == "create_app":
        from callback_kit.mock_server.app import create_app

        return create_app
    if name == "serving_app":  # the app as `callback-kit serve` serves it (a lost answer drops the connection)
        from callback_kit.mock_server.asgi import build

        return build
    raise AttributeError(f"module 'callback_kit.mock_server' has no attribute {name!r}")
