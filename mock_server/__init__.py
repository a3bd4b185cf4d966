"""A stateful mock of Matcher's exception-callback endpoint, driven by `openapi.yaml`."""

import warnings

# Connexion imports Starlette's TestClient at module level, which warns about httpx; the kit never uses it.
warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")

from mock_server.app import create_app  # noqa: E402
from mock_server.settings import Settings  # noqa: E402

__all__ = ["Settings", "create_app"]
