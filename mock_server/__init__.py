"""A stateful mock of Matcher's exception-callback endpoint, driven by `openapi.yaml`."""

from __future__ import annotations

if __name__ != "callback_kit.mock_server":
    # The repository's folder imported as a top-level package (`python -m mock_server` in a checkout) would be
    # a second copy of the kit beside the installed one.
    raise ImportError(f"import this folder as callback_kit.mock_server, not {__name__} (pip install -e . first)")

from typing import Any

from callback_kit.mock_server.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    # The web framework is imported on first use only, so that the stores and the CLI start fast.
    if name == "create_app":
        from callback_kit.mock_server.app import create_app

        return create_app
    raise AttributeError(f"module 'callback_kit.mock_server' has no attribute {name!r}")
