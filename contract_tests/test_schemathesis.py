"""Schemathesis over openapi.yaml: all built-in checks, the examples, coverage and fuzzing phases.

The run records one row per Schemathesis check (see `callback_kit.contract_tests.conformance`); this test fails when any
of them failed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from callback_kit.contract_tests.conformance import run_conformance
from callback_kit.contract_tests.environment import Environment
from callback_kit.contract_tests.failures import ContractViolation
from callback_kit.contract_tests.report import Results

pytestmark = pytest.mark.contract("schemathesis", reports_itself=True)


def test_schemathesis_conformance(
    contract_env: Environment, contract_results: Results, contract_progress: Callable[[str], None]
) -> None:
    """Every Schemathesis check holds for every generated case."""
    rows, notes = run_conformance(contract_env, contract_progress)
    for row in rows:
        contract_results.add(row)
    contract_results.notes.extend(notes)
    broken = [row for row in rows if row.verdict != "passed"]
    if broken:
        raise ContractViolation(
            f"Schemathesis: {len(broken)} check(s) failed: {', '.join(row.name for row in broken)}",
            expected="every check holds for every generated case",
            received=f"{sum(len(row.findings) for row in broken)} distinct failure(s)",
            note="\n\n".join(finding.text for row in broken for finding in row.findings),
        )
