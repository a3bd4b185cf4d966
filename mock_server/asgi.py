"""The uvicorn entry point of `callback-kit serve`: each worker builds its app from the settings its parent left."""

from __future__ import annotations

from connexion import AsyncApp

from mock_server.app import create_app
from mock_server.settings import Settings


def app() -> AsyncApp:
    """The app factory (`uvicorn mock_server.asgi:app --factory`)."""
    return create_app(Settings.from_env())
