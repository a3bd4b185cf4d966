"""A stateful mock of Matcher's exception-callback endpoint, driven by `openapi.yaml`."""

from mock_server.app import create_app
from mock_server.settings import Settings

__all__ = ["Settings", "create_app"]
