"""The uvicorn entry point of `callback-kit serve`: each worker builds its app from the settings its parent left."""

from __future__ import annotations

from starlette.types import ASGIApp

import callback_kit.mock_server.quiet  # noqa: F401  (first: it silences a warning Connexion's import raises)
from callback_kit.mock_server.app import create_app
from callback_kit.mock_server.middleware.drop_connection import DropConnectionMiddleware
from callback_kit.mock_server.settings import Settings


def app() -> ASGIApp:
    """The app factory (`uvicorn callback_kit.mock_server.asgi:app --factory`)."""
    return DropConnectionMiddleware(create_app(Settings.from_env()))
