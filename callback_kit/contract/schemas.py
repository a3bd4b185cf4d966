"""The one cached schema validator: JSON Schema Draft 4 as OpenAPI 3.0 reads it, with a strict RFC 3339 date-time.

OpenAPI 3.0 adds `nullable` to Draft 4; the date-time check refuses what RFC 3339 refuses and some libraries
let through (a trailing newline, an hour 24). A validator is built once per schema object and kept, so a
schema read from a cached spec costs its compilation once per process.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema_rs
from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators

from callback_kit.contract.refs import inline

# The spelling nearly every client sends (UTC, upper-case T and Z): already its own UTC spelling once checked.
_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\Z", re.ASCII)
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII)


def parse_rfc3339(text: str) -> str | None:
    """The UTC RFC 3339 spelling of `text`, or None when it is not an RFC 3339 date-time."""
    if _UTC.match(text):
        # No offset to apply: only the fields need checking (Feb 30, hour 24 and second 60 are refused).
        try:
            day = datetime(int(text[:4]), int(text[5:7]), int(text[8:10]))
            day.replace(hour=int(text[11:13]), minute=int(text[14:16]), second=int(text[17:19]))
        except ValueError:
            return None
        return text
    return parse_general(text)


def parse_general(text: str) -> str | None:
    """`parse_rfc3339` for any spelling: an offset, a lower-case t or z (the slower, general way)."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, zone = match.group(7) or "", match.group(8)
    try:
        offset = timedelta(0) if zone in "Zz" else _offset(zone)
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:
        return None
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is valid but has no UTC year to show
        return text.strip()
    return f"{utc.year:04d}-" + utc.strftime("%m-%dT%H:%M:%S") + fraction + "Z"


def _offset(zone: str) -> timedelta:
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    sign = -1 if zone[0] == "-" else 1
    return sign * timedelta(hours=hours, minutes=minutes)


def is_date_time(value: object) -> bool:
    """The `date-time` format: anything but a string passes (the type check judges it), a string must parse."""
    return not isinstance(value, str) or parse_rfc3339(value) is not None


FORMATS = FormatChecker()
FORMATS.checkers = dict(Draft4Validator.FORMAT_CHECKER.checkers)
FORMATS.checks("date-time")(is_date_time)

Check = Callable[[Any, Any, Any, dict[str, Any]], Iterator[ValidationError]]


def _nullable(check: Check) -> Check:
    def nullable(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
        if instance is None and schema.get("nullable") is True:
            return
        yield from check(validator, value, instance, schema)

    return nullable


OpenAPIValidator = validators.extend(
    Draft4Validator,
    {"type": _nullable(Draft4Validator.VALIDATORS["type"]), "enum": _nullable(Draft4Validator.VALIDATORS["enum"])},
)


class _Compiled:
    """One cache entry: it keeps `schema` and `spec` alive, so that no other object can take their ids."""

    __slots__ = ("fast", "schema", "slow", "spec")

    def __init__(self, schema: dict[str, Any], spec: dict[str, Any] | None) -> None:
        self.schema, self.spec = schema, spec
        compiled = inline(spec, schema, drop=frozenset({"example"})) if spec is not None else schema
        self.slow = OpenAPIValidator(compiled, format_checker=FORMATS)
        self.fast: Any = _UNBUILT

    def rust(self) -> Any:
        if self.fast is _UNBUILT:
            try:
                self.fast = jsonschema_rs.Draft4Validator(
                    self.slow.schema, validate_formats=True, formats={"date-time": is_date_time}
                )
            except (ValueError, jsonschema_rs.ValidationError):
                self.fast = None
        return self.fast

    def is_valid(self, instance: Any) -> bool:
        fast = self.rust()
        if fast is not None and fast.is_valid(instance):
            return True
        return bool(self.slow.is_valid(instance))


_UNBUILT = object()
_CACHE: dict[tuple[int, int], _Compiled] = {}


def validator(schema: dict[str, Any], spec: dict[str, Any] | None = None) -> Draft4Validator:
    """The validator of `schema` (its `$ref`s resolved against `spec`), built on first use and kept."""
    return _compiled(schema, spec).slow


def is_valid(schema: dict[str, Any], instance: Any, spec: dict[str, Any] | None = None) -> bool:
    """Whether `instance` is valid, asked first of jsonschema-rs (built on first use, about ten times faster).

    It has the same draft and the same date-time check; OpenAPI's `nullable`, which it does not know, can
    only make it refuse more, so what it refuses is asked again of the Python validator.
    """
    return _compiled(schema, spec).is_valid(instance)


def fast_validator(schema: dict[str, Any], spec: dict[str, Any] | None = None) -> Any:
    """The jsonschema-rs validator `is_valid` asks first, or None when it cannot take the schema."""
    return _compiled(schema, spec).rust()


def _compiled(schema: dict[str, Any], spec: dict[str, Any] | None) -> _Compiled:
    entry = _CACHE.get((id(schema), id(spec)))
    if entry is None or entry.schema is not schema or entry.spec is not spec:
        entry = _CACHE[(id(schema), id(spec))] = _Compiled(schema, spec)
    return entry
