"""The tree keeps the shape the README's layout section draws: the suite never reaches into the mock, and no
module of the kit grows past 300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The parts of the kit that judge an implementation, and what they must never import.
JUDGES = ("contract_tests", "callback_kit/contract", "callback_kit/reporting")
MOCK = ("callback_kit.mock_server", "mock_server")
# Every folder whose Python modules the wheel installs (callback_kit's links resolve to the top-level folders).
KIT = ("callback_kit", "mock_server", "contract_tests")
MAX_LINES = 300


def modules(*folders: str) -> list[Path]:
    """The Python modules under the given folders of the repository, links not followed."""
    found: list[Path] = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if not any((ROOT / Path(*relative.parts[: i + 1])).is_symlink() for i in range(len(relative.parts))):
                found.append(path)
    return found


def imported_names(path: Path) -> set[str]:
    """The absolute module names a module imports, at any depth of its body."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules(*JUDGES), ids=lambda path: str(path.relative_to(ROOT)))
def test_the_contract_suite_never_imports_the_mock(path: Path) -> None:
    """No module that judges an implementation imports the mock's package, even lazily inside a function."""
    reaching = sorted(name for name in imported_names(path) if name.startswith(MOCK))
    assert not reaching, f"{path.relative_to(ROOT)} imports {reaching}"


def test_every_module_of_the_kit_stays_under_the_size_limit() -> None:
    """Each Python module the wheel installs has at most 300 lines (one concept per module)."""
    over = {
        str(path.relative_to(ROOT)): lines
        for path in modules(*KIT)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_the_scan_sees_the_whole_kit() -> None:
    """The scans above cover the three parts of the kit (a wrong folder would make them pass on nothing)."""
    found = {path.relative_to(ROOT).parts[0] for path in modules(*KIT)}
    assert found == set(KIT)
    assert len(modules(*JUDGES)) > 20
