"""A request under construction, and the negative categories that each break exactly one thing in it.

The generator builds a valid `Draft` (a known exception, a valid token placeholder, a valid JSON body), then
hands it to one category's `mutate`, which breaks one rule and says which (`Violation`). A mutation that
cannot confirm its own violation raises `Retry`; the generator then starts again from a fresh draft.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callback_kit.contract_tests.fuzz.cases import Body, Expect, Violation
from callback_kit.contract_tests.fuzz.spec import Operation

AUTHORIZATION = "Authorization"
CONTENT_TYPE = "Content-Type"


@dataclass
class Draft:
    """A valid request until a mutation breaks it: the exception id, the headers in order, the body."""

    exception_id: str
    headers: dict[str, str]
    json: Any
    body: Body | None = None
    fresh_keys: bool = True

    def final_body(self) -> Body:
        """The body to store: the mutated bytes if a mutation replaced them, else the JSON value."""
        return self.body if self.body is not None else Body("json", self.json)

    def set_header(self, name: str, value: str | None) -> None:
        """Replace a header in place (keeping the order), add it at the end, or drop it (`None`)."""
        existing = next((key for key in self.headers if key.lower() == name.lower()), None)
        if value is None:
            self.headers.pop(existing or name, None)
        elif existing is not None:
            self.headers[existing] = value
        else:
            self.headers[name] = value


Mutate = Callable[[Operation, Draft, random.Random, int], Violation]


@dataclass(frozen=True)
class Category:
    """One kind of negative case: its name (used in ids and reports), the answer it expects, how to make it.

    `mutate(operation, draft, rng, k)` gets the category's occurrence number `k`, so that successive cases
    walk through fields and variants in order rather than at random; the seed varies the values.
    """

    name: str
    expect: Expect
    mutate: Mutate
    rare: bool = False


class Retry(Exception):
    """The mutation could not break the draft as intended; try again from a fresh draft."""
