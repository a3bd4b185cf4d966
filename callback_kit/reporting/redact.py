"""Secrets never reach a report: each is shown as the environment variable a reader should take it from."""

from __future__ import annotations

from collections.abc import Mapping

Secrets = Mapping[str, str]
"""A secret's value -> the name of the environment variable that holds it (`CALLBACK_KIT_TOKEN`)."""


def redact(text: str, secrets: Secrets) -> str:
    """`text` with every secret replaced by `${VARIABLE}`, the placeholder a shell command expands."""
    # Longest first, so that a secret containing another is replaced whole.
    for value in sorted(secrets, key=len, reverse=True):
        if value:
            text = text.replace(value, f"${{{secrets[value]}}}")
    return text
