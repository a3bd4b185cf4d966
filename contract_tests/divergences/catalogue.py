"""The catalogue of known divergences (`catalogue.yaml`, data) and the choice of which ones a run accepts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from callback_kit.contract_tests.failures import ConfigurationError


@dataclass(frozen=True)
class Divergence:
    """One way Matcher 2.1 shows an item of section 6 of the reference: its number there and what is seen."""

    id: str
    number: int
    title: str

    def __str__(self) -> str:
        return f"known divergence #{self.number}: {self.title}"


@cache
def catalogue() -> dict[str, Divergence]:
    """Every entry of `catalogue.yaml`, by id."""
    text = resources.files(__package__ or "").joinpath("catalogue.yaml").read_text(encoding="utf-8")
    raw: dict[str, Any] = yaml.safe_load(text)
    return {name: Divergence(name, int(entry["number"]), str(entry["title"])) for name, entry in raw.items()}


def known(divergence_id: str) -> Divergence:
    """The entry `divergence_id` (a `KeyError` names a typo in the code, never a user's mistake)."""
    return catalogue()[divergence_id]


def numbers() -> frozenset[int]:
    """The numbers of section 6 the catalogue knows."""
    return frozenset(d.number for d in catalogue().values())


def parse_accepted(raw: str, option: str = "--accept-divergences") -> frozenset[int]:
    """`all`, or numbers separated by commas, as the accepted numbers; a `ConfigurationError` names a bad item
    (and the option as the entry point spells it)."""
    text = raw.strip().lower()
    if not text:
        return frozenset()
    if text == "all":
        return numbers()
    chosen = set()
    for item in filter(None, (part.strip().lstrip("#") for part in text.split(","))):
        if not item.isdigit() or int(item) not in numbers():
            known_numbers = ", ".join(map(str, sorted(numbers())))
            raise ConfigurationError(
                f"{option}: {item!r} is not a known divergence; give 'all' or some of {known_numbers}"
            )
        chosen.add(int(item))
    return frozenset(chosen)
