"""A stateful mock of Matcher's exception-callback endpoint, driven by `openapi.yaml`."""

from __future__ import annotations

from typing import Any

from mock_server.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    # The web framework is imported on first use only, so that the stores and the CLI start fast.
    if name == "create_app":
        from mock_server.app import create_app

        return create_app
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
