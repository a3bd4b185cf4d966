"""The fixtures' exceptions, as records to seed the store with."""

from __future__ import annotations

import json
from pathlib import Path

from callback_kit.mock_server.types import ExceptionRecord


def load_exceptions(fixtures: Path) -> list[ExceptionRecord]:
    """Every exception of `exceptions.json` in the fixtures folder."""
    path = fixtures / "exceptions.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [ExceptionRecord(**{**raw, "callbacks": tuple(raw.get("callbacks", ()))}) for raw in data["exceptions"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f'Fixture file "{path}" must be JSON like {{"exceptions": [{{"id": "<uuid>", "tenant": "<uuid>", '
            f'"status": "OPEN"}}]}}: {exc}'
        ) from None
