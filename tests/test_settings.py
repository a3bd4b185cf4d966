"""The mock's settings, declared once (`mock_server.settings`): every field is an option, values are checked
wherever the settings are built, and workers get the very settings their parent built."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from callback_kit.mock_server.settings import ENV_SETTINGS, Settings, options, parser_for, value_kind


def test_every_field_is_declared_as_an_option() -> None:
    """No field of Settings lacks its command-line declaration (nothing is copied field by field elsewhere)."""
    declared = {name for name, _ in options()}
    assert declared == {field.name for field in dataclasses.fields(Settings)}


def test_each_option_reads_its_own_variable() -> None:
    """Variables follow the flag (CALLBACK_KIT_RATE_LIMIT), except --workers, which contract also has."""
    variables = {declared.flag: declared.env_name for _, declared in options()}
    assert variables["--rate-limit"] == "CALLBACK_KIT_RATE_LIMIT"
    assert variables["--store"] == "CALLBACK_KIT_STORE"
    assert variables["--workers"] == "CALLBACK_KIT_SERVE_WORKERS"


def test_closed_choices_are_literal_types() -> None:
    """Profile, log level and log format are closed sets whose choices come from their types."""
    assert value_kind("profile") == ("published", "matcher")
    assert value_kind("log_format") == ("text", "json")
    assert "trace" in value_kind("log_level")


def test_options_become_settings() -> None:
    """Parsed values become the settings; words stand for their values; None keeps the default."""
    settings = Settings.from_options({"port": 0, "auth": "off", "profile": "matcher", "tokens_file": None})
    assert (settings.port, settings.auth, settings.profile) == (0, False, "matcher")
    assert settings.tokens_file is None
    assert settings.max_body_bytes == Settings().max_body_bytes


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("port", 70000, "--port must be 1..65535, or 0 for any free port, got 70000"),
        ("port", -1, "--port must be 1..65535, or 0 for any free port, got -1"),
        ("workers", 0, "--workers must be at least 1, got 0"),
        ("max_body_bytes", 0, "--max-body-bytes must be at least 1, got 0"),
        ("rate_limit_per_minute", -1, "--rate-limit must be 0 (off) or more, got -1"),
        ("wait_for_store", -0.5, "--wait-for-store must be 0 or more seconds, got -0.5"),
    ],
)
def test_a_value_out_of_range_is_refused_whoever_builds_the_settings(field: str, value: float, message: str) -> None:
    """The range is part of the declaration: Settings(...) in code refuses it as the command line does."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Settings(**{field: value})


def test_the_range_edges_are_accepted() -> None:
    """0 and 65535 are ports (0: any free one); one worker, one byte and a zero rate limit are allowed."""
    Settings(port=0, workers=1, max_body_bytes=1, rate_limit_per_minute=0, wait_for_store=0)
    Settings(port=65535)


def test_text_is_parsed_with_the_rule_in_the_message() -> None:
    """Text that is no number names the rule; a number out of range names the range."""
    with pytest.raises(ValueError, match=r"^must be a whole number, 1\.\.65535, or 0 for any free port, got 'x'$"):
        parser_for("port")("x")
    with pytest.raises(ValueError, match=r"^must be at least 1, got 0$"):
        parser_for("workers")("0")
    assert parser_for("wait_for_store")("2.5") == 2.5
    assert parser_for("spec_path")("a.yaml") == Path("a.yaml")


def test_secrets_stay_out_of_the_repr() -> None:
    """The JWT secret and the admin token are never shown by repr (a log line, a traceback)."""
    shown = repr(Settings(jwt_secret="a-secret-of-at-least-32-bytes-long!", admin_token="admin-secret"))
    assert "a-secret-of" not in shown
    assert "admin-secret" not in shown


def test_workers_rebuild_the_same_settings(tmp_path: Path) -> None:
    """The settings a parent leaves in CALLBACK_KIT_SETTINGS come back equal, paths as paths."""
    settings = Settings(port=0, tokens_file=tmp_path / "t.json", auth=False, log_format="json", wait_for_store=1.5)
    assert Settings.from_env({ENV_SETTINGS: settings.to_env()}) == settings


def test_without_a_parent_the_defaults_apply() -> None:
    """A worker started without CALLBACK_KIT_SETTINGS (uvicorn by hand) gets the defaults."""
    assert Settings.from_env({}) == Settings()
