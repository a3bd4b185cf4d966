"""Negative cases that break the body schema, one rule of one field at a time (all expect 400).

The fields and rules come from the schema (`required`, `type`, `format`, `enum`, `maxLength`, the `anyOf`
that requires an assignee for ASSIGNED), and the spec's own validator confirms that each mutated body breaks
the named rule at the named field; a mutation it does not confirm is retried.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema import ValidationError

from callback_kit.contract_tests.fuzz.cases import Expect, Violation
from callback_kit.contract_tests.fuzz.draft import Category, Draft, Retry
from callback_kit.contract_tests.fuzz.spec import Operation, Schema
from callback_kit.contract_tests.fuzz.values import Values

Path = tuple[str, ...]
BAD_REQUEST = Expect("rejected", (400,))
EMPTY_VALUES = ("", " ", "\t", "  \n ")
WRONG_TYPES: dict[str, tuple[Any, ...]] = {
    "string": (0, -1, 3.14, True, False, None, [], ["x"], {}, {"value": "x"}),
    "object": ("x", "", 0, True, None, [], [{}]),
    "body": ([], "text", 0, True, None, [{"status": "RESOLVED"}]),
}
BAD_ENUM = ("CLOSED", "DONE", "CANCELLED", "REOPENED", "IN_PROGRESS")
BAD_DATE_TIMES: tuple[Callable[[str], str], ...] = (
    lambda d: d[:10],  # a date without a time
    lambda d: d[:19],  # no offset
    lambda d: d[:10] + " " + d[11:],
    lambda d: d[:5] + "13" + d[7:],  # month 13
    lambda d: d[:8] + "32" + d[10:],  # day 32
    lambda d: d[:11] + "24" + d[13:],  # hour 24
    lambda d: d[:14] + "60" + d[16:],  # minute 60
    lambda d: d[:4] + "/" + d[5:7] + "/" + d[8:],
    lambda d: "yesterday",
    lambda d: "",
    lambda d: "2026-02-30T10:00:00Z",
    lambda d: "1762493516",
    lambda d: d[:19] + "+24:00",
    lambda d: d[:19] + ".Z",
    lambda d: d[:16] + "Z",  # no seconds
)


def categories(op: Operation) -> list[Category]:
    found = [
        Category("required", BAD_REQUEST, required),
        Category("empty", BAD_REQUEST, empty),
        Category("type", BAD_REQUEST, wrong_type),
        Category("format", BAD_REQUEST, bad_date_time),
        Category("enum", BAD_REQUEST, bad_enum),
        Category("max-length", BAD_REQUEST, too_long),
    ]
    if op.resolve(op.body_schema).get("anyOf"):
        found.append(Category("any-of", BAD_REQUEST, no_branch))
    return found


def required(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    names = op.resolve(op.body_schema).get("required", [])
    name = names[k % len(names)]
    draft.json.pop(name, None)
    return _confirmed(op, draft, (name,), "required", f"{name} left out")


def empty(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    schema = op.resolve(op.body_schema)
    names = [n for n in schema.get("required", []) if _schema_at(op, (n,)).get("type") == "string"]
    name = names[k % len(names)]
    value = EMPTY_VALUES[(k // len(names)) % len(EMPTY_VALUES)]
    draft.json[name] = value
    return _confirmed(op, draft, (name,), None, f"{name} = {_show(value)}")


def wrong_type(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    paths = [(), *_fields(op, lambda s: s.get("type") in WRONG_TYPES, depth=1)]
    path = paths[k % len(paths)]
    if not path:
        draft.json = rng.choice(WRONG_TYPES["body"])
        return _confirmed(op, draft, (), "type", f"the body is {_json_type(draft.json)}, not an object")
    value = rng.choice(WRONG_TYPES[_schema_at(op, path)["type"]])
    _put(draft.json, path, value)
    return _confirmed(op, draft, path, "type", f"{'.'.join(path)} = {_show(value)}")


def bad_date_time(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    paths = _fields(op, lambda s: s.get("format") == "date-time")
    path = paths[k % len(paths)]
    corrupt = BAD_DATE_TIMES[(k // len(paths) + rng.randrange(len(BAD_DATE_TIMES))) % len(BAD_DATE_TIMES)]
    value = corrupt(Values(rng, op.resolve).date_time())
    _put(draft.json, path, value)
    return _confirmed(op, draft, path, "format", f"{'.'.join(path)} = {_show(value)} (not RFC 3339)")


def bad_enum(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    paths = _fields(op, lambda s: "enum" in s)
    path = paths[k % len(paths)]
    allowed = [str(v) for v in _schema_at(op, path)["enum"]]
    valid = rng.choice(allowed)
    value = rng.choice(
        (valid.lower(), valid + " ", valid[:-1], "|".join(allowed[:2]), rng.choice(BAD_ENUM), _word(rng))
    )
    _put(draft.json, path, value)
    return _confirmed(op, draft, path, "enum", f"{'.'.join(path)} = {_show(value)}, not one of {', '.join(allowed)}")


def too_long(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    paths = _fields(op, lambda s: "maxLength" in s)
    path = paths[k % len(paths)]
    length = int(_schema_at(op, path)["maxLength"]) + 1 + rng.randint(0, 8)
    _put(draft.json, path, "".join(rng.choices(string.ascii_letters, k=length)))
    return _confirmed(op, draft, path, "maxLength", f"{'.'.join(path)} is {length} characters long")


def no_branch(op: Operation, draft: Draft, rng: random.Random, k: int) -> Violation:
    """A body that no `anyOf` branch admits: enum values only the base allows, and what branches require gone."""
    schema = op.resolve(op.body_schema)
    branches = [op.resolve(b) for b in schema["anyOf"]]
    changes: list[str] = []
    for name, base in schema.get("properties", {}).items():
        narrowed = [b["properties"][name]["enum"] for b in branches if "enum" in b.get("properties", {}).get(name, {})]
        outside = [v for v in op.resolve(base).get("enum", []) if narrowed and all(v not in e for e in narrowed)]
        if outside:
            draft.json[name] = rng.choice(outside)
            changes.append(f"{name} = {_show(draft.json[name])}")
    required_paths: list[Path] = [(n,) for b in branches for n in b.get("required", [])]
    for b in branches:
        for name, sub in b.get("properties", {}).items():
            required_paths += [(name, inner) for inner in op.resolve(sub).get("required", [])]
    # `payload` and `payload.assignee` are one requirement: name and break only the innermost field.
    innermost = sorted({p for p in required_paths if not any(q[: len(p)] == p != q for q in required_paths)})
    for path in innermost:
        if (k + len(path)) % 3 == 0 and _get(draft.json, path) is not None:
            _put(draft.json, path, " ")
            changes.append(f"{'.'.join(path)} blank")
        else:
            _drop(draft.json, path)
            changes.append(f"no {'.'.join(path)}")
    names = [".".join(p) for p in innermost]
    note = f"{', '.join(changes)}: no anyOf branch admits it"
    violation = _confirmed(op, draft, (), "anyOf", note)
    return Violation(names[0] if names else "body", "anyOf", violation.note)


def _confirmed(op: Operation, draft: Draft, path: Path, rule: str | None, note: str) -> Violation:
    """The violation, once the spec's validator reports `rule` (or, if None, any rule) at `path`."""
    errors = list(_walk(op.body_errors(draft.json)))
    if rule == "required":
        parent, name = path[:-1], path[-1]
        hits = [
            e for e in errors if e.validator == "required" and tuple(e.absolute_path) == parent and name in e.message
        ]
    else:
        hits = [e for e in errors if tuple(e.absolute_path) == path and rule in (None, e.validator)]
    if not hits:
        raise Retry
    return Violation(".".join(path) or "body", rule or str(hits[0].validator), note)


def _walk(errors: list[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        yield error
        yield from _walk(list(error.context or ()))


def _fields(op: Operation, keep: Callable[[Schema], bool], depth: int = 2) -> list[Path]:
    """Paths of the body's properties (to `depth` levels of objects) whose schema passes `keep`."""
    found: list[Path] = []

    def visit(schema: Schema, prefix: Path) -> None:
        for name, sub in op.resolve(schema).get("properties", {}).items():
            sub = op.resolve(sub)
            if keep(sub):
                found.append((*prefix, name))
            if len(prefix) + 1 < depth and sub.get("type") == "object":
                visit(sub, (*prefix, name))

    visit(op.body_schema, ())
    return found


def _schema_at(op: Operation, path: Path) -> Schema:
    schema = op.resolve(op.body_schema)
    for name in path:
        schema = op.resolve(schema["properties"][name])
    return schema


def _put(body: dict[str, Any], path: Path, value: Any) -> None:
    for name in path[:-1]:
        if not isinstance(body.get(name), dict):
            body[name] = {}
        body = body[name]
    body[path[-1]] = value


def _get(body: Any, path: Path) -> Any:
    for name in path:
        body = body.get(name) if isinstance(body, dict) else None
    return body


def _drop(body: Any, path: Path) -> None:
    parent = _get(body, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_uppercase + "_", k=rng.randint(3, 12)))


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null", int: "a number"}
    return names.get(type(value), "a number")
