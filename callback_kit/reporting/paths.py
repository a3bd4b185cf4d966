"""Where reports and case files go: checked writable before a command sends anything or generates anything."""

from __future__ import annotations

import tempfile
from pathlib import Path


class UnwritablePath(ValueError):
    """A report file or an output folder that cannot be written; the message names the option, path and reason."""


def writable_file(option: str, path: Path) -> None:
    """Make `path`'s folder and open the file for writing, or say in one line why that cannot be done."""
    try:
        if path.is_dir():
            raise IsADirectoryError(f"{path} is a folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UnwritablePath(f"{option} {path}: cannot write the report there ({_reason(exc, path.parent)})") from None


def writable_folder(option: str, path: Path) -> None:
    """Make the folder `path` and create a file in it, or say in one line why that cannot be done."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UnwritablePath(f"{option} {path}: cannot write files there ({_reason(exc, path)})") from None


def _reason(exc: OSError, folder: Path) -> str:
    """The reason alone, naming a file that stands where a folder must be (not `[Errno 17] File exists: ...`)."""
    in_the_way = next((p for p in (folder, *folder.parents) if _is_file(p)), None)
    if in_the_way is not None:
        return f"{in_the_way} is a file, not a folder"
    return exc.strerror or str(exc)


def _is_file(path: Path) -> bool:
    try:
        return path.exists() and not path.is_dir()
    except OSError:  # a folder we may not look into: not the file in the way
        return False
