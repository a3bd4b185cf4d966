"""How far a long task is: a `rich` bar with count, rate and ETA on a terminal; plain lines elsewhere.

Off a terminal (a CI log) a bar would be noise: with `counts` a line is written every tenth of the task and
at its end (count, rate, ETA), without it nothing but the task's own `log` lines. The clock is injected.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress
from rich.text import Text


class _Rate(ProgressColumn):
    """Steps per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


class Progress:
    """Progress of `total` steps called `verb` (`sent`, `written`, `checks`), shown on `stream`."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        verb: str = "done",
        stream: TextIO | None = None,
        counts: bool = True,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.verb, self.counts = label, total, verb, counts
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.note = ""
        self._next_line = max(1, total // 10)  # the first line after a tenth: the rate means something by then
        interactive = self.stream.isatty() if tty is None else tty
        self._bar: RichProgress | None = None
        if interactive:
            console = Console(file=self.stream, force_terminal=True, highlight=False)
            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                _Rate(), TimeRemainingColumn(), console=console, transient=True,
            )  # fmt: skip
            self._task = self._bar.add_task(label, total=total, note="")
            self._bar.start()

    def advance(self, steps: int = 1, *, note: str = "") -> None:
        """`steps` more done; `note` is shown beside the count (`, 2 unexpected`)."""
        self.done += steps
        self.note = note
        if self._bar is not None:
            self._bar.update(self._task, advance=steps, note=note)
        elif self.counts and (self.done >= self._next_line or self.done == self.total):
            self._write(self.line())
            self._next_line = self.done + max(1, self.total // 10)

    def log(self, line: str) -> None:
        """A line of the task's own (above the bar on a terminal)."""
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            self._write(line)

    def line(self) -> str:
        """The count, the rate and the time left (or taken), in one line."""
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        head = f"{self.label}: {self.done}/{self.total} {self.verb}{self.note}"
        if self.done >= self.total:
            return f"{head} in {elapsed:.1f} s ({rate:,.0f}/s)"
        left = (self.total - self.done) / rate if rate else float("inf")
        eta = "unknown" if left == float("inf") else f"{left:.0f} s"
        return f"{head}, {rate:,.0f}/s, ETA {eta}"

    def close(self) -> None:
        """Stop the bar (a terminal then shows the final count line)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            if self.counts:
                self._write(self.line())

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
