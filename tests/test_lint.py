"""`callback-kit lint` accepts the shipped spec and names the broken place of a broken one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from callback_kit.cli import main
from callback_kit.contract import CALLBACK_PATH, default_spec_path
from callback_kit.contract.lint import check_spec

Spec = dict[str, Any]
SHIPPED: Spec = yaml.safe_load(default_spec_path().read_text(encoding="utf-8"))


def operation(spec: Spec) -> Spec:
    return spec["paths"][CALLBACK_PATH]["post"]  # type: ignore[no-any-return]


def block(spec: Spec) -> Spec:
    return operation(spec)["x-idempotency"]  # type: ignore[no-any-return]


def written(tmp_path: Path, change: Callable[[Spec], None]) -> Path:
    spec = copy.deepcopy(SHIPPED)
    change(spec)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_the_shipped_spec_has_no_problem() -> None:
    """openapi.yaml passes every rule."""
    assert check_spec(default_spec_path()) == []


def test_the_command_exits_0_on_the_shipped_spec(capsys: pytest.CaptureFixture[str]) -> None:
    """`callback-kit lint` with no argument checks the kit's own spec and says OK."""
    assert main(["lint"]) == 0
    assert "OK" in capsys.readouterr().out


BROKEN: dict[str, tuple[Callable[[Spec], None], str]] = {
    "missing field": (lambda s: block(s).pop("replayHeader"), "x-idempotency.replayHeader is missing"),
    "negative ttl": (
        lambda s: block(s).update(inFlightTtlSeconds=-1),
        "need 0 < inFlightTtlSeconds <= completedTtlSeconds",
    ),
    "in flight outlives completed": (
        lambda s: block(s).update(inFlightTtlSeconds=10**9),
        "need 0 < inFlightTtlSeconds <= completedTtlSeconds",
    ),
    "unknown policy": (
        lambda s: block(s).update(onDifferentBody="ignore"),
        "onDifferentBody must be 'replay' or 'reject'",
    ),
    "unknown disagreeing-headers policy": (
        lambda s: block(s).update(onDisagreeingHeaders="merge"),
        "onDisagreeingHeaders must be 'precedence' or 'reject', got 'merge'",
    ),
    "no disagreeing-headers policy": (
        lambda s: block(s).pop("onDisagreeingHeaders"),
        "x-idempotency.onDisagreeingHeaders is missing",
    ),
    "unknown scope part": (lambda s: block(s).update(scope=["tenant", "body"]), "x-idempotency.scope must name"),
    "bad pattern": (lambda s: block(s).update(keyPattern="[unclosed"), "keyPattern is not a regular expression"),
    "bad error code": (
        lambda s: block(s)["errors"]["inFlight"].update(code="E409"),
        "errors.inFlight.code must look like MTCH-0001",
    ),
    "header not declared": (
        lambda s: block(s).update(headers=["X-Idempotency-Key", "X-Request-Key"]),
        "names X-Request-Key, which is not a header parameter",
    ),
    "pattern differs from header": (
        lambda s: block(s).update(keyPattern="^[a-z]{1,64}$"),
        "schema.pattern differs from x-idempotency.keyPattern",
    ),
    "replay header undeclared": (
        lambda s: operation(s)["responses"]["200"]["headers"].pop("X-Idempotency-Replayed"),
        "responses.200.headers lacks x-idempotency.replayHeader",
    ),
    "reject without 422": (
        lambda s: (block(s).update(onDifferentBody="reject"), operation(s)["responses"].pop("422")),
        "x-idempotency.errors.differentBody answers 422",
    ),
    "in-flight without retry-after": (
        lambda s: s["components"]["responses"]["Conflict"]["headers"].pop("Retry-After"),
        "must declare Retry-After for x-idempotency.errors.inFlight",
    ),
    "error codes without the key's code": (
        lambda s: s["components"]["responses"]["BadRequest"].update({"x-error-codes": ["MTCH-0001"]}),
        "responses.400.x-error-codes lacks MTCH-0015 (x-idempotency.errors.keyInvalid)",
    ),
    "error codes not a list": (
        lambda s: s["components"]["responses"]["NotFound"].update({"x-error-codes": "MTCH-0501"}),
        "responses.404.x-error-codes must list error codes",
    ),
    "example breaks its schema": (
        lambda s: operation(s)["requestBody"]["content"]["application/json"]["examples"]["jiraResolution"][
            "value"
        ].update(status="CLOSED"),
        "examples.jiraResolution['status'] does not match its schema",
    ),
    "schema example breaks its schema": (
        lambda s: s["components"]["schemas"]["Error"]["properties"]["code"].update(example="E1"),
        "components.schemas.Error.properties.code.example does not match its schema",
    ),
    "not openapi": (lambda s: s.pop("paths"), "not a valid OpenAPI document"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_spec_is_refused_naming_the_place(case: str, tmp_path: Path) -> None:
    """Each kind of breakage gives a problem whose message names where it is."""
    change, expected = BROKEN[case]
    problems = check_spec(written(tmp_path, change))
    assert any(expected in problem for problem in problems), problems


def test_the_command_exits_1_and_prints_the_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a broken block, `callback-kit lint SPEC` exits 1 and prints each problem."""
    path = written(tmp_path, lambda s: block(s).update(onDifferentBody="ignore"))
    assert main(["lint", str(path)]) == 1
    assert "onDifferentBody must be 'replay' or 'reject'" in capsys.readouterr().out


def test_an_unreadable_spec_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not there exits 2 with the reason."""
    assert main(["lint", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
