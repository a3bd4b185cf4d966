"""`callback-kit` as a whole, run as a real process: help, metavars, exit codes and --version alike in every
subcommand (whoever wrote it), usage errors in the subcommand's own usage, and no traceback for a mistake."""

from __future__ import annotations

import argparse
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest
from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from callback_kit.cli import SUBCOMMANDS, build_parsers
from callback_kit.cli.parser import METAVARS, metavar_words
from tests import broken_servers, odd_servers
from tests.broken_servers import TOKEN, serving
from tests.cli_support import KIT, environment, kit, one_line, refusal

ROOT = Path(__file__).resolve().parent.parent
CORPUS = str(ROOT / "fixtures" / "fuzz-corpus.jsonl")


@pytest.mark.parametrize("command", list(SUBCOMMANDS))
def test_every_help_ends_with_the_exit_codes(tmp_path: Path, command: str) -> None:
    """`callback-kit COMMAND --help` exits 0 and lists the exit codes of that command."""
    result = kit(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: callback-kit {command} ")
    epilog = result.stdout.split("\nexit codes:\n")[1]
    assert epilog.lstrip().startswith("0  ")
    assert "\n  2  a usage or configuration error" in epilog


@pytest.mark.parametrize("command", list(SUBCOMMANDS))
def test_every_option_speaks_the_one_vocabulary(command: str) -> None:
    """Each option of each subcommand names its value with a word of METAVARS, or lists its choices."""
    _, parsers, _ = build_parsers({}, command)
    for action in parsers[command]._actions:
        if not action.option_strings or action.nargs == 0 or action.choices is not None:
            continue
        assert isinstance(action.metavar, str), f"{command} {action.option_strings[0]} names no metavar"
        for word in metavar_words(action.metavar):
            assert word in METAVARS, f"{command} {action.option_strings[0]} {action.metavar}"


@pytest.mark.parametrize("command", list(SUBCOMMANDS))
def test_every_default_and_variable_is_shown(command: str) -> None:
    """Help shows each option's default (where it has one) and the variable it reads."""
    _, parsers, _ = build_parsers({}, command)
    text = " ".join(parsers[command].format_help().split())
    for action in parsers[command]._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        assert "[env CALLBACK_KIT_" in text
        if action.default not in (None, False):
            assert "(default: " in text, action.option_strings[0]


def test_help_shows_the_declared_default_not_a_variables_secret(tmp_path: Path) -> None:
    """A token given by a variable is never printed by --help."""
    result = kit("serve", "--help", cwd=tmp_path, env=environment(CALLBACK_KIT_ADMIN_TOKEN="s3cr3t-admin-value"))
    assert result.returncode == 0
    assert "s3cr3t" not in result.stdout


def test_version_names_the_installed_distribution(tmp_path: Path) -> None:
    """`callback-kit --version` prints the installed version and exits 0."""
    result = kit("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"callback-kit {version('callback-contract-kit')}"


def test_lint_of_a_non_openapi_file_says_so(tmp_path: Path) -> None:
    """`lint README.md` is "not an OpenAPI document", exit 2 (it was a PyYAML traceback, exit 1)."""
    line = one_line(kit("lint", str(ROOT / "README.md"), cwd=tmp_path))
    assert line.startswith(f"callback-kit lint: {ROOT / 'README.md'} is not an OpenAPI document: not YAML or JSON (")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"title: a yaml file\n", "is not an OpenAPI document (no `openapi` field), e.g. openapi: 3.0.3 at the top"),
        (b"swagger: '2.0'\n", "is not an OpenAPI document (swagger: 2.0, which the kit does not read)"),
        (b"- a list\n", "not an OpenAPI document (top level is list)"),
        (b"\xff\xfe\x00", "is not an OpenAPI document: not UTF-8 text"),
    ],
)
def test_lint_of_other_documents_is_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    """YAML that is no OpenAPI document, and bytes that are no text, are refused in one line, exit 2."""
    path = tmp_path / "doc.yaml"
    path.write_bytes(content)
    assert message in one_line(kit("lint", str(path), cwd=tmp_path))


def test_lint_of_a_folder_is_one_line(tmp_path: Path) -> None:
    """A folder given as the spec is refused in one line."""
    line = one_line(kit("lint", str(tmp_path), cwd=tmp_path))
    assert line == f"callback-kit lint: cannot read {tmp_path}: Is a directory"


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    """`callback-kit` alone exits 2 asking for a command."""
    assert refusal(kit(cwd=tmp_path)) == "callback-kit: error: the following arguments are required: COMMAND"


def test_unknown_command_lists_the_commands(tmp_path: Path) -> None:
    """An unknown command exits 2 listing the real ones."""
    assert "invalid choice: 'srve' (choose from 'serve', 'lint'" in refusal(kit("srve", cwd=tmp_path))


def test_unknown_option_of_another_subcommand_shows_its_usage(tmp_path: Path) -> None:
    """The subcommand's usage is shown for any subcommand, not only serve."""
    result = kit("spec", "--bogus", cwd=tmp_path)
    assert refusal(result) == "callback-kit spec: error: unrecognized arguments: --bogus"
    assert result.stderr.startswith("usage: callback-kit spec ")


def test_bad_number_variable_of_another_subcommand_names_it(tmp_path: Path) -> None:
    """A variable that is no number is refused naming it, in whichever subcommand reads it."""
    result = kit("fuzz", "--out", str(tmp_path / "cases"), cwd=tmp_path, env=environment(CALLBACK_KIT_COUNT="many"))
    assert refusal(result) == "callback-kit fuzz: error: CALLBACK_KIT_COUNT='many' is not a whole number"


def test_flag_variable_must_be_a_boolean_word(tmp_path: Path) -> None:
    """A flag's variable that is no yes/no word is refused naming the words."""
    line = refusal(kit("serve", cwd=tmp_path, env=environment(CALLBACK_KIT_QUIET="maybe")))
    assert line.startswith("callback-kit serve: error: CALLBACK_KIT_QUIET='maybe' must be one of 1, true, yes, on")


@pytest.mark.parametrize(
    "command",
    [("fuzz", "--out", "cases"), ("contract", "--base-url", "http://127.0.0.1:9", "--token", "t")],
    ids=lambda command: command[0],
)
def test_every_subcommand_refuses_a_negative_seed_alike(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A seed below 0 is refused by every subcommand that takes one, with the same range, exit 2."""
    line = refusal(kit(*command, "--seed", "-1", cwd=tmp_path))
    assert line.endswith(" must be between 0 and 18446744073709551615, got -1")


@pytest.mark.parametrize("value", ["-1", "0", "3601", "nan"])
def test_replay_refuses_a_timeout_out_of_range_before_sending(tmp_path: Path, value: str) -> None:
    """`replay --timeout -1` is a usage error naming the range (it was a ValueError traceback after reading)."""
    command = ("replay", "cases.jsonl", "--base-url", "http://127.0.0.1:9", "--token", "t", "--timeout", value)
    line = refusal(kit(*command, cwd=tmp_path))
    assert (
        line
        == f"callback-kit replay: error: argument --timeout: must be more than 0 and at most 3600 seconds, got {value}"
    )


@pytest.mark.parametrize(
    "command",
    [("fuzz", "--out", "cases"), ("replay", CORPUS, "--base-url", "http://127.0.0.1:9", "--token", "t")],
)
def test_fuzz_and_replay_refuse_a_spec_that_is_no_openapi_document_as_lint_does(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """`--spec README.md` is the one line `lint README.md` shows, exit 2 (fuzz showed a PyYAML traceback)."""
    readme = str(ROOT / "README.md")
    expected = one_line(kit("lint", readme, cwd=tmp_path)).removeprefix("callback-kit lint: ")
    assert refusal(kit(*command, "--spec", readme, cwd=tmp_path)) == f"callback-kit {command[0]}: {expected}"


def test_replay_refuses_an_unwritable_report_before_sending_a_case(tmp_path: Path) -> None:
    """`replay --junit FILE/r.xml` is one line and exit 2, and the server never hears from it (it sent every case)."""
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("", encoding="utf-8")
    counting = odd_servers.Counting(broken_servers.mock())
    with serving(counting) as url:
        before = counting.requests
        command = ("replay", CORPUS, "--base-url", url, "--token", TOKEN, "--junit", str(in_the_way / "r.xml"))
        result = kit(*command, cwd=tmp_path)
        after = counting.requests
    assert one_line(result) == (
        f"callback-kit replay: --junit {in_the_way}/r.xml: cannot write the report there "
        f"({in_the_way} is a file, not a folder)"
    )
    assert after == before


@pytest.mark.parametrize("below", ["", "cases"])
def test_fuzz_refuses_an_out_folder_it_cannot_make_in_one_line(tmp_path: Path, below: str) -> None:
    """`fuzz --out FILE` (or a folder under a file) names the file in the way, not `[Errno 17] File exists`."""
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("", encoding="utf-8")
    out = in_the_way / below if below else in_the_way
    line = one_line(kit("fuzz", "--count", "3", "--out", str(out), cwd=tmp_path))
    assert line == f"callback-kit fuzz: --out {out}: cannot write files there ({in_the_way} is a file, not a folder)"


def test_report_of_an_unreachable_mock_is_one_line(tmp_path: Path) -> None:
    """`report` against a port where nothing listens exits 2 in one line."""
    from tests.live import free_port

    line = one_line(kit("report", "--base-url", f"http://127.0.0.1:{free_port()}", cwd=tmp_path))
    assert line.startswith("callback-kit report: cannot reach http://127.0.0.1:")


@pytest.mark.parametrize(
    ("status", "said"),
    [(404, "answered 404, no report there (is it callback-kit's mock or proxy?): "), (200, "did not answer JSON: ")],
)
def test_report_of_a_server_that_is_not_the_mock_is_one_short_line(tmp_path: Path, status: int, said: str) -> None:
    """Another server's HTML page is squashed to one line of at most 200 characters (it was printed whole)."""
    page = (
        "<!DOCTYPE html>\n<html>\n<head><title>Error</title></head>\n<body>\n"
        + "<p>no such page</p>\n" * 40
        + "</body>\n</html>\n"
    )

    async def foreign(scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse(page, status_code=status)(scope, receive, send)

    with serving(foreign) as url:
        line = one_line(kit("report", "--base-url", url, cwd=tmp_path))
    shown = line.split(said, 1)[1]
    assert line.startswith(f"callback-kit report: {url}/_mock/report {said}<!DOCTYPE html> <html> <head><title>Error")
    assert len(shown) == 200
    assert shown.endswith("…")


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`callback-kit spec | head -0`: a reader gone before the output ends the kit without a traceback."""
    errors = tmp_path / "stderr"
    with open(errors, "wb") as stderr:
        command = [*KIT, "spec"]
        writer = subprocess.Popen(command, cwd=tmp_path, env=environment(), stdout=subprocess.PIPE, stderr=stderr)
    assert writer.stdout is not None
    writer.stdout.close()  # no reader is left: the kit's first write fails with EPIPE
    assert writer.wait(timeout=60) == 141, errors.read_text()
    assert errors.read_text() == ""
