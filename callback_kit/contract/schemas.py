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

from jsonschema import Draft4Validator, FormatChecker, ValidationError, validators

from callback_kit.contract.refs import inline

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII)


def parse_rfc3339(text: str) -> str | None:
    """The UTC RFC 3339 spelling of `text`, or None when it is not an RFC 3339 date-time."""
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
_CACHE: dict[tuple[int, int], tuple[Any, Any, Draft4Validator]] = {}


def validator(schema: dict[str, Any], spec: dict[str, Any] | None = None) -> Draft4Validator:
    """The validator of `schema` (its `$ref`s resolved against `spec`), built on first use and kept.

    The entry keeps both objects alive, so their ids cannot be taken by other objects while it exists.
    """
    key = (id(schema), id(spec))
    entry = _CACHE.get(key)
    if entry is None or entry[0] is not schema or entry[1] is not spec:
        compiled = inline(spec, schema, drop=frozenset({"example"})) if spec is not None else schema
        entry = (schema, spec, OpenAPIValidator(compiled, format_checker=FORMATS))
        _CACHE[key] = entry
    return entry[2]
