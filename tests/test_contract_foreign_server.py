"""A server that is no implementation of the operation (a static file server answering 501 with HTML to every
POST): one cause per check, not one per field; the body on one line; the probe does not call the token accepted."""

from __future__ import annotations

import re
from pathlib import Path

from tests import odd_servers
from tests.broken_servers import ADMIN_TOKEN, TOKEN, serving
from tests.test_contract_suite import contract


def test_one_undeclared_status_is_one_cause_per_check_with_its_body_on_one_line(tmp_path: Path) -> None:
    """501 to every POST is one group per failing check, each `Received:` one line, and no HTML line of its own."""
    with serving(odd_servers.not_an_implementation) as url:
        run = contract(tmp_path, "--base-url", url, "--token", TOKEN, "--max-examples", "20")
    assert run.code == 1, run.output
    report = run.output.split("failures by cause:", 1)[1]
    heads = re.findall(r"^  FAIL  (\S+): 501 -, (.*): \d+ case\(s\)$", report, flags=re.MULTILINE)
    failed = sorted(check for check, verdict in run.verdicts.items() if verdict == "failed")
    assert sorted(check.split("/")[1] for check, _ in heads) == failed, report
    assert {rule for _, rule in heads} == {"status undeclared"}, report
    assert report.startswith(f" {len(heads)} distinct"), report
    assert not [line for line in run.output.splitlines() if line.lstrip().startswith("<")], run.output
    received = [line for line in run.output.splitlines() if "Received: 501" in line and ", body " in line]
    assert received
    assert all("<p>Error code: 501</p> <p>Message" in line for line in received)
    assert len(run.output.splitlines()) < 300, len(run.output.splitlines())


def test_the_probe_does_not_call_a_token_accepted_by_an_undeclared_answer(tmp_path: Path) -> None:
    """A 501 to the probe's callback says what was seen, not that `--token` was accepted."""
    with serving(odd_servers.not_an_implementation) as url:
        run = contract(tmp_path, "--base-url", url, "--token", TOKEN, "--include-checks", "startup")
    probed = next(line for line in run.output.splitlines() if line.startswith("startup:"))
    assert "--token accepted" not in probed
    assert "--token not shown accepted (the callback was answered 501" in probed


def test_a_configuration_error_with_an_html_body_is_one_line(tmp_path: Path) -> None:
    """The mock factory meeting a 501 page is a one-line configuration error (exit 2), the page squashed."""
    with serving(odd_servers.not_an_implementation) as url:
        run = contract(
            tmp_path, "--base-url", url, "--token", TOKEN, "--exception-factory", "mock", "--admin-token", ADMIN_TOKEN
        )
    assert run.code == 2, run.output
    error = [line for line in run.output.splitlines() if "configuration error" in line]
    assert len(error) == 1, run.output
    assert error[0].startswith("callback-kit contract: configuration error: POST /_mock/exceptions answered 501: ")
    assert run.output.strip().splitlines()[-1] == error[0]
