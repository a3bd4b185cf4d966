"""`onDisagreeingHeaders` from the spec to the contract suite: its check follows the policy the spec states."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live import running_mock
from tests.test_contract_suite import FULL_OPTIONS, contract
from tests.test_idempotency_contract import spec_with

CHECK = "disagreeing_key_headers_follow_policy"


@pytest.mark.parametrize(("served", "judged", "verdict"), [
    ("precedence", "precedence", "passed"),
    ("reject", "reject", "passed"),
    ("reject", "precedence", "failed"),
    ("precedence", "reject", "failed"),
])  # fmt: skip
def test_the_check_passes_only_a_server_keeping_the_stated_policy(
    tmp_path: Path, served: str, judged: str, verdict: str
) -> None:
    """A mock serving one policy passes the check under that policy and fails it under the other."""
    specs = {}
    for role, policy in (("served", served), ("judged", judged)):
        (tmp_path / role).mkdir()
        specs[role] = spec_with(tmp_path / role, onDisagreeingHeaders=policy)
    served_spec, judged_spec = specs["served"], specs["judged"]
    with running_mock("memory://", tmp_path, extra=("--spec", str(served_spec))) as mock:
        run = contract(
            tmp_path, "--base-url", mock.url, *FULL_OPTIONS, "--spec", str(judged_spec), "--include-checks", CHECK
        )
    assert run.verdicts[CHECK] == verdict, run.output
