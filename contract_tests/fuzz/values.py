"""Seeded JSON values for the JSON Schema subset of the spec: the same `random.Random` gives the same values.

Why not Hypothesis (or Schemathesis, which drives it) here: a Hypothesis run mixes in literal constants it
mines from every *local* module already imported (6.1xx "local constants"), so its output depends on which
modules of this tree are loaded and on their text, and it costs about 6 ms a body for this schema. The
generator below is plain `random.Random`, guided by the schema: types, `enum`, `minLength`/`maxLength`,
`pattern` (by rejection), `format: date-time`, `properties`/`required`, unknown properties, `$ref` and
`anyOf` (one branch merged into its parent). The caller checks every value with the spec's validator.
"""

from __future__ import annotations

import calendar
import random
import re
import string
from collections.abc import Callable
from typing import Any

from callback_kit.contract_tests.fuzz.errors import SpecUnsupported

Schema = dict[str, Any]
Resolve = Callable[[Schema], Schema]
ATTEMPTS = 50
# One alphabet per string: plain identifiers most of the time, and the scripts, planes and control
# characters that trip encoders, databases and validators the rest of the time.
ALPHABETS = (
    string.ascii_letters + string.digits,
    string.ascii_letters + string.digits + " -_.:/#@'\"\\",
    "àéîõüçñßøÅÆŒĳŁ",
    "日本語中文字한국어ひらがな",
    "😀🚀🎉𝄞👍🏽🧪",
    "a\u0301e\u0308\u200d\u200b\u2028\u2029\ufeff",
    "\u05d0\u05d1\u05d2\u0627\u0644\u0639",
    "x\t\n\r\x01\x1f\x7f\x00",
)
WEIGHTS = (50, 20, 8, 6, 6, 4, 3, 3)
OFFSETS = ("Z", "Z", "Z", "+00:00", "-03:00", "+05:30", "+09:45", "-12:00", "+14:00", "z")


class Values:
    """Draws values for schemas of one spec from one `random.Random`."""

    def __init__(self, rng: random.Random, resolve: Resolve) -> None:
        self.rng = rng
        self.resolve = resolve

    def instance(self, schema: Schema, depth: int = 0) -> Any:
        """A value meant to satisfy `schema` (anyOf: one branch, chosen at random)."""
        schema = self.resolve(schema)
        if "anyOf" in schema:
            schema = merge(
                {k: v for k, v in schema.items() if k != "anyOf"}, self.rng.choice(schema["anyOf"]), self.resolve
            )
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        kind = schema.get("type") or ("object" if "properties" in schema else None)
        if kind == "object":
            return self.object(schema, depth)
        if kind == "string":
            return self.string(schema)
        if kind == "integer":
            return self.rng.randint(int(schema.get("minimum", -(10**6))), int(schema.get("maximum", 10**6)))
        if kind == "number":
            return round(self.rng.uniform(float(schema.get("minimum", -1e6)), float(schema.get("maximum", 1e6))), 3)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "array":
            low, high = schema.get("minItems", 0), schema.get("maxItems", 4)
            return [self.instance(schema.get("items", {}), depth + 1) for _ in range(self.rng.randint(low, high))]
        if kind is None:
            return self.any_json(depth)
        raise SpecUnsupported(f"cannot generate values of type {kind!r}: expected object, string, number or array")

    def object(self, schema: Schema, depth: int) -> dict[str, Any]:
        properties: dict[str, Schema] = schema.get("properties", {})
        required = schema.get("required", [])
        value = {
            name: self.instance(sub, depth + 1)
            for name, sub in properties.items()
            if name in required or self.rng.random() < 0.5
        }
        if schema.get("additionalProperties", True) is not False and self.rng.random() < 0.25:
            # Unknown members: the spec says they are ignored, so a server must still accept the body.
            for _ in range(self.rng.randint(1, 3)):
                name = self.text(1, 16)
                if name not in properties:
                    value[name] = self.any_json(depth + 1)
        if self.rng.random() < 0.3:
            items = list(value.items())
            self.rng.shuffle(items)
            value = dict(items)
        return value

    def string(self, schema: Schema) -> str:
        if schema.get("format") == "date-time":
            return self.date_time()
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        pattern = schema.get("pattern")
        for _ in range(ATTEMPTS):
            text = self.text(low, None if high is None else int(high))
            if pattern is None or re.search(pattern, text):
                return text
        raise SpecUnsupported(f"cannot generate a string matching pattern {pattern!r} in {ATTEMPTS} attempts")

    def text(self, low: int, high: int | None) -> str:
        """A string of `low` to `high` code points from one alphabet."""
        alphabet = self.rng.choices(ALPHABETS, WEIGHTS)[0]
        cap = 2048 if high is None else high
        draw = self.rng.random()
        if draw < 0.05:
            length = low
        elif draw < 0.12:
            length = cap  # the longest value the schema allows
        elif draw < 0.75:
            length = self.rng.randint(1, 12)
        else:
            length = self.rng.randint(13, 80)
        length = min(max(length, low), cap)
        text = "".join(self.rng.choices(alphabet, k=length))
        if length + 2 <= cap and self.rng.random() < 0.05:
            text = f" {text} "  # servers trim; the spec still calls this valid
        return text

    def date_time(self) -> str:
        """An RFC 3339 date-time, with or without fraction, in UTC or at an offset."""
        rng = self.rng
        year = rng.choice((rng.randint(1970, 2099), rng.randint(1970, 2099), 2000, 2024, 2026))
        month = rng.randint(1, 12)
        day = rng.randint(1, calendar.monthrange(year, month)[1])
        clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        fraction = "." + "".join(rng.choices(string.digits, k=rng.randint(1, 9))) if rng.random() < 0.3 else ""
        return f"{year:04d}-{month:02d}-{day:02d}T{clock}{fraction}{rng.choice(OFFSETS)}"

    def any_json(self, depth: int) -> Any:
        """Any JSON value, nested at most two levels below `depth`."""
        rng = self.rng
        kinds = ["string", "integer", "number", "boolean", "null"] + (["array", "object"] if depth < 3 else [])
        kind = rng.choice(kinds)
        if kind == "string":
            return self.text(0, 40)
        if kind == "integer":
            return rng.choice((rng.randint(-1000, 1000), rng.randint(-(2**63), 2**63 - 1)))
        if kind == "number":
            return rng.choice((round(rng.uniform(-1e3, 1e3), 4), rng.uniform(-1e300, 1e300), 1e-300))
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        if kind == "array":
            return [self.any_json(depth + 1) for _ in range(rng.randint(0, 3))]
        return {self.text(1, 12): self.any_json(depth + 1) for _ in range(rng.randint(0, 3))}


def merge(base: Schema, branch: Schema, resolve: Resolve) -> Schema:
    """`base` narrowed by `branch` (an `allOf` of the two, for the keywords the spec uses)."""
    base, branch = resolve(base), resolve(branch)
    merged = {**base, **{k: v for k, v in branch.items() if k not in ("properties", "required", "description")}}
    required = list(base.get("required", []))
    merged["required"] = required + [name for name in branch.get("required", []) if name not in required]
    properties = dict(base.get("properties", {}))
    for name, sub in branch.get("properties", {}).items():
        properties[name] = merge(properties.get(name, {}), sub, resolve)
    if properties:
        merged["properties"] = properties
    if not merged["required"]:
        del merged["required"]
    return merged
