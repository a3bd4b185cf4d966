"""The mock as a server (`mock_server.asgi`): its logging set-up, which workers apply too."""

from __future__ import annotations

import logging

from callback_kit.mock_server.asgi import log_config, request_log_formatter
from callback_kit.mock_server.middleware.access_log import LOGGER, JsonFormatter, TextFormatter
from callback_kit.mock_server.settings import Settings


def test_request_log_goes_to_stdout_by_default() -> None:
    """By default the request log is on, at INFO, on standard output, apart from the server's messages."""
    config = log_config(Settings())
    assert config["loggers"][LOGGER] == {"handlers": ["request_log"], "level": "INFO", "propagate": False}
    assert config["handlers"]["request_log"]["stream"] == "ext://sys.stdout"


def test_quiet_leaves_the_request_log_off() -> None:
    """`--quiet`: the logger stays below INFO, so the stack leaves the layer out."""
    config = log_config(Settings(quiet=True))
    assert config["loggers"][LOGGER] == {"handlers": [], "level": "WARNING", "propagate": False}


def test_log_level_sets_the_kits_own_messages() -> None:
    """`--log-level` sets the level of the kit's diagnostics as of uvicorn's."""
    assert log_config(Settings(log_level="error"))["loggers"]["callback_kit"]["level"] == logging.ERROR


def test_log_format_picks_the_formatter() -> None:
    """`--log-format` chooses between the text line and the JSON object."""
    assert log_config(Settings(log_format="json"))["formatters"]["request_log"]["log_format"] == "json"
    assert isinstance(request_log_formatter("json"), JsonFormatter)
    assert isinstance(request_log_formatter("text"), TextFormatter)
