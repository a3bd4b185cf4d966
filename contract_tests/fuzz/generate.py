"""`generate(settings)`: the fuzz cases of one seed, the same bytes in every process.

Case i (1-based) draws all its values from `random.Random("callback-kit-fuzz:<seed>:<i>")` (string seeds are
hashed with SHA-512, whatever PYTHONHASHSEED says), and its kind and category depend on i alone. So a case
never depends on another, and the first 300 cases of `--count 10000` are the cases of `--count 300`.

With `--kind all`, two cases in five are positive. Negative cases walk a fixed cycle of categories, so every
category appears within the first `len(NEGATIVE_CYCLE)` negatives; the oversize category (a megabyte each)
keeps its slot in one cycle out of `RARE_EVERY` and yields it to a bad date-time in the others.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callback_kit.contract_tests.fuzz import body_mutations, envelope_mutations, transport_mutations
from callback_kit.contract_tests.fuzz.cases import TOKEN, Body, Case, Expect, Kind, Violation
from callback_kit.contract_tests.fuzz.draft import AUTHORIZATION, CONTENT_TYPE, Category, Draft, Retry
from callback_kit.contract_tests.fuzz.errors import SpecUnsupported
from callback_kit.contract_tests.fuzz.spec import Operation
from callback_kit.contract_tests.fuzz.values import Values
from callback_kit.resources import fixtures_dir

KindChoice = Literal["positive", "negative", "all"]
KINDS: tuple[KindChoice, ...] = ("positive", "negative", "all")
ALL_PATTERN = ("positive", "negative", "negative", "positive", "negative")
NEGATIVE_CYCLE = (
    "required", "type", "format", "enum", "empty", "key-format", "json", "token-missing", "content-type",
    "encoding", "max-length", "token-invalid", "path", "any-of", "required", "type", "format", "key-conflict",
    "header", "body-missing", "unknown-exception", "key-format", "oversize",
)  # fmt: skip
RARE_EVERY = 4
RARE_STAND_IN = "format"
ATTEMPTS = 50
# The spec's state rules let every status become RESOLVED, and RESOLVED stay RESOLVED: a valid RESOLVED
# callback is never refused with 409, whatever state the exception is in.
ALWAYS_ALLOWED_STATUS = "RESOLVED"
STATE_DEPENDENT = (200, 404, 409)
DEFAULT_TENANT = "acme"  # the tenant of the kit's documented token, acme-integration-token
MiB = 1024 * 1024
HEADER_SAFE = string.ascii_letters + string.digits + "-_.:"


@dataclass(frozen=True)
class FuzzSettings:
    """What `callback-kit fuzz` generates: `count` cases of `kind` from `seed`."""

    count: int
    seed: int
    kind: KindChoice = "all"
    exception_ids: tuple[str, ...] = ()
    max_body_bytes: int = MiB
    spec_path: Path | None = None


def generate(settings: FuzzSettings) -> list[Case]:
    """The cases, in order; raises `SpecUnsupported` when the spec cannot yield them."""
    return list(iter_cases(settings))


def iter_cases(settings: FuzzSettings) -> Iterator[Case]:
    """The cases one at a time (for a progress bar); the spec is read before the first."""
    op = Operation.load(settings.spec_path)
    builder = _Builder(op, settings)
    return (builder.case(index) for index in range(1, settings.count + 1))


def default_exception_ids() -> tuple[str, ...]:
    """The ids of the fixtures' exceptions of tenant `acme`, which the mock seeds."""
    data = json.loads((fixtures_dir() / "exceptions.json").read_text(encoding="utf-8"))
    tenant = data["tenants"][DEFAULT_TENANT]
    return tuple(str(e["id"]) for e in data["exceptions"] if e["tenant"] == tenant)


class _Builder:
    def __init__(self, op: Operation, settings: FuzzSettings) -> None:
        self.op = op
        self.settings = settings
        self.ids = settings.exception_ids or default_exception_ids()
        for exception_id in self.ids:
            if list(op.validator(op.path_parameter.schema).iter_errors(exception_id)):
                raise SpecUnsupported(f"exception id {exception_id!r} breaks the spec's {op.path_parameter.name}")
        found = [
            *body_mutations.categories(op),
            *transport_mutations.categories(op, settings.max_body_bytes),
            *envelope_mutations.categories(op),
        ]
        self.categories = {c.name: c for c in found}
        self.cycle = [name for name in NEGATIVE_CYCLE if name in self.categories]
        if not all(op.documents(status) for status in STATE_DEPENDENT):
            raise SpecUnsupported(f"the cases expect the spec to document {STATE_DEPENDENT}")

    def case(self, index: int) -> Case:
        rng = random.Random(f"callback-kit-fuzz:{self.settings.seed}:{index}")
        kind: str = self.settings.kind
        if kind == "all":
            kind = ALL_PATTERN[(index - 1) % len(ALL_PATTERN)]
            negatives_before = (index - 1) // len(ALL_PATTERN) * ALL_PATTERN.count("negative")
            ordinal = negatives_before + ALL_PATTERN[: (index - 1) % len(ALL_PATTERN)].count("negative")
        else:
            ordinal = index - 1
        return self.positive(index, rng) if kind == "positive" else self.negative(index, ordinal, rng)

    def positive(self, index: int, rng: random.Random) -> Case:
        draft = self.draft(index, rng, positive=True)
        if rng.random() < 0.15:
            # Same JSON, other bytes: indented, and half the time with every non-ASCII character escaped.
            draft.body = Body("text", json.dumps(draft.json, indent=2, ensure_ascii=rng.random() < 0.5))
        status = draft.json.get("status")
        allowed = (200, 404) if status == ALWAYS_ALLOWED_STATUS else STATE_DEPENDENT
        slug = str(status).lower().replace("_", "-")
        return self.assemble(f"pos-{index:04d}-{slug}", "positive", "valid", draft, Expect("state-dependent", allowed))

    def negative(self, index: int, ordinal: int, rng: random.Random) -> Case:
        category, k = self.category(ordinal)
        for attempt in range(ATTEMPTS):
            draft = self.draft(index, rng, positive=False)
            try:
                violation = category.mutate(self.op, draft, rng, k + attempt)
            except Retry:
                continue
            slug = re.sub(r"[^A-Za-z0-9._]+", "-", f"{violation.field}-{violation.rule}").strip("-")
            case_id = f"neg-{index:04d}-{slug}"
            return self.assemble(case_id, "negative", category.name, draft, category.expect, violation)
        raise SpecUnsupported(f"could not build a {category.name!r} case from the spec in {ATTEMPTS} attempts")

    def category(self, ordinal: int) -> tuple[Category, int]:
        """The category of the `ordinal`-th negative case, and how many of it came before."""
        cycle_number, slot = divmod(ordinal, len(self.cycle))
        name = self.cycle[slot]
        category = self.categories[name]
        if category.rare:
            if cycle_number % RARE_EVERY == 0:
                return category, cycle_number // RARE_EVERY
            return self.categories[RARE_STAND_IN], ordinal
        return category, cycle_number * self.cycle.count(name) + self.cycle[:slot].count(name)

    def draft(self, index: int, rng: random.Random, *, positive: bool) -> Draft:
        """A valid request: a known exception, the token placeholder, a schema-valid body, maybe keys."""
        body = self.valid_body(Values(rng, self.op.resolve))
        content_type = self.op.media_type
        if positive and rng.random() < 0.1:
            content_type += "; charset=utf-8"
        headers = {AUTHORIZATION: f"Bearer {TOKEN}", CONTENT_TYPE: content_type}
        draft = Draft(rng.choice(self.ids), headers, body)
        if positive:
            for param in self.op.headers:
                if param.name not in self.op.keys.headers and rng.random() < 0.2:
                    value = self.header_value(param.schema, rng)
                    if not list(self.op.validator(param.schema).iter_errors(value)):
                        draft.set_header(param.name, value)
        carriers = self.key_carriers(rng, positive)
        key = f"fz-{index}-" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=16))
        if carriers and not self.op.keys.key_pattern.fullmatch(key):
            raise SpecUnsupported(f"the spec's keyPattern {self.op.keys.key_pattern.pattern!r} rejects key {key!r}")
        for header in carriers:
            draft.set_header(header, key)
        return draft

    def key_carriers(self, rng: random.Random, positive: bool) -> tuple[str, ...]:
        """Which key headers carry the key: none, the first, an alias, or all of them (the same key)."""
        headers = self.op.keys.headers
        draw = rng.random()
        if draw < (0.3 if positive else 0.2):
            return headers[:1]
        if positive and draw < 0.5:
            return (rng.choice(headers[1:] or headers),)
        if positive and draw < 0.6:
            return headers
        return ()

    def header_value(self, schema: dict[str, Any], rng: random.Random) -> str:
        low, high = int(schema.get("minLength", 1)), int(schema.get("maxLength", 64))
        length = high if rng.random() < 0.1 else rng.randint(max(low, 1), min(high, 40))
        return "".join(rng.choices(HEADER_SAFE, k=length))

    def valid_body(self, values: Values) -> dict[str, Any]:
        for _ in range(ATTEMPTS):
            body = values.instance(self.op.body_schema)
            if isinstance(body, dict) and body and not self.op.body_errors(body):
                return body
        raise SpecUnsupported(f"could not generate a valid request body from the spec in {ATTEMPTS} attempts")

    def assemble(
        self, case_id: str, kind: Kind, category: str, draft: Draft, expect: Expect, violation: Violation | None = None
    ) -> Case:
        path = self.op.path.replace("{" + self.op.path_parameter.name + "}", draft.exception_id)
        has_key = any(name in draft.headers for name in self.op.keys.headers)
        return Case(
            id=case_id,
            kind=kind,
            category=category,
            method=self.op.method,
            path=path,
            headers=draft.headers,
            body=draft.final_body(),
            expect=expect,
            violation=violation,
            fresh_keys=draft.fresh_keys and has_key,
        )
