"""A whole `callback-kit contract` run: configuration, probe, checks, report, verdict, and signals.

The checks run in a worker thread; the main thread waits for it and handles SIGINT and SIGTERM. On a
signal every check stops at its next request, the factory's command is killed, and the main thread stops
waiting after `GRACE` seconds even if a request is still blocked: the report and the reports are written
from what was done, marked interrupted, and the exit code is 130 (SIGINT) or 143 (SIGTERM), never a pass.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import TextIO

from callback_kit.contract_tests.config import Settings
from callback_kit.contract_tests.environment import Environment, check_report_paths, open_environment
from callback_kit.contract_tests.failures import ConfigurationError, Interrupted
from callback_kit.contract_tests.probe import ProbeResult, probe
from callback_kit.contract_tests.registry import Selection, all_checks, select
from callback_kit.contract_tests.render import report_lines
from callback_kit.contract_tests.reports import write_reports, write_setup_error
from callback_kit.contract_tests.results import CheckResult, Results, Verdict, configuration_error, verdict
from callback_kit.contract_tests.runner import RunState, run_checks
from callback_kit.reporting.progress import Progress

GRACE = 2.5  # seconds a blocked request gets to end before the run stops waiting for it (SIGINT: under 5 s)
PROG = "callback-kit contract"


@dataclass
class Session:
    """One run; `abandoned` is True when a check was still blocked as the run ended (the process must exit)."""

    settings: Settings
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    results: Results = field(default_factory=Results)
    stop: threading.Event = field(default_factory=threading.Event)
    state: RunState = field(default_factory=RunState)
    caught: list[str] = field(default_factory=list)
    abandoned: bool = False
    environment: Environment | None = None
    failure: ConfigurationError | None = None
    selection: Selection | None = None
    progress: Progress | None = None

    def run(self) -> int:
        """Run, print the report and the verdict, write the reports; the exit code."""
        try:
            check_report_paths(self.settings)
        except ConfigurationError as exc:
            return self._configuration_error(exc, write_junit=False)
        try:  # an unknown name, or a selection of nothing, is said alone and before anything is sent
            self.selection = select(all_checks(), self.settings.include_checks, self.settings.exclude_checks)
        except ConfigurationError as exc:
            return self._configuration_error(exc, write_junit=True)
        self._say(banner(self.settings))
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            worker = threading.Thread(target=self._work, name="callback-kit-contract", daemon=True)
            worker.start()
            self._wait(worker)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.failure is not None and not self.caught:
            return self._configuration_error(self.failure, write_junit=True)
        return self._finish()

    def _work(self) -> None:
        try:
            selection = self.selection
            assert selection is not None  # run() selects before it starts this thread
            self.environment = environment = open_environment(self.settings, self.stop)
            started = time.monotonic()
            found = probe(environment)
            facts = _facts(environment, found)
            self._say(f"startup: probed in {time.monotonic() - started:.1f} s; {facts}")
            self.progress = Progress("checks", len(selection.checks), verb="made", stream=self.out, counts=False)
            with self.progress as progress:
                run_checks(environment, found, selection, self.results, progress.log, self.state)
        except ConfigurationError as exc:
            self.failure = exc
        except Interrupted:
            pass  # the main thread reports it

    def _wait(self, worker: threading.Thread) -> None:
        deadline: float | None = None
        while worker.is_alive():
            worker.join(0.1)
            if self.caught and deadline is None:
                deadline = time.monotonic() + GRACE
                if self.environment is not None:
                    for user_command in (self.environment.factory, self.environment.reader):
                        if user_command is not None:
                            user_command.close()
            if deadline is not None and time.monotonic() > deadline:
                self.abandoned = worker.is_alive()
                return

    def _on_signal(self, number: int, _frame: FrameType | None) -> None:
        self.caught.append(signal.Signals(number).name)
        self.stop.set()

    def _finish(self) -> int:
        if self.progress is not None:
            self.progress.close()  # a terminal gets its cursor back, even from a check still blocked
        interrupted = self.caught[0] if self.caught else None
        if interrupted is not None:
            self._close_interrupted(interrupted)
        settings = self.settings
        result = verdict(
            self.results,
            seed=settings.seed,
            require_all=settings.require_all,
            interrupted=interrupted,
            seed_option=settings.flag("--seed"),
        )
        secrets = self.settings.secrets
        for line in report_lines(self.results, self.settings.accept_divergences, secrets):
            self._say(line)
        exchanges = self.environment.recorder.exchanges() if self.environment is not None else []
        for line in write_reports(self.settings, self.results, result, exchanges, secrets):
            self._say(line)
        if interrupted is not None:
            self._say("interrupted")
        self._say(result.line)
        if self.environment is not None and not self.abandoned:
            self.environment.close()
        return result.exit_code

    def _close_interrupted(self, name: str) -> None:
        """The check that was running is `interrupted`; those not reached are `not run`."""
        with self.state.lock:
            current, remaining = self.state.current, list(self.state.remaining)
            self.state.remaining.clear()
        done = {row.label for row in self.results.rows} | {row.group for row in self.results.rows}
        if current is not None and current.label not in done and current.group not in done:
            self.results.add(CheckResult(current.group, current.name, "interrupted", note=f"interrupted by {name}"))
        for check in remaining:
            self.results.add(CheckResult(check.group, check.name, "not_run", note=f"not run: interrupted by {name}"))

    def _configuration_error(self, exc: ConfigurationError, *, write_junit: bool) -> int:
        result: Verdict = configuration_error(str(exc))
        if write_junit and self.settings.junit is not None:
            write_setup_error(self.settings.junit, self.settings, str(exc))
        if self.environment is not None:
            self.environment.close()
        print(f"{PROG}: {result.line.removeprefix('verdict: ')}", file=self.err, flush=True)
        return result.exit_code

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def banner(settings: Settings) -> str:
    """The first line of a run, printed before anything slow happens."""
    return (
        f"{PROG}: {settings.base_url} (seed {settings.seed}, max-examples {settings.max_examples}, "
        f"workers {settings.workers}; exception factory: {settings.factory_kind or 'none'}; "
        f"other tenant: {'yes' if settings.other_tenant_token else 'no'}"
        f"{f'; exception reader: {settings.reader_kind}' if settings.reader_kind else ''})"
    )


def _facts(environment: Environment, found: ProbeResult) -> str:
    parts = ["the server answers", *(f"{option} {seen}" for option, seen in found.tokens.items())]
    if environment.factory is not None:
        parts.append("the exception factory works")
    if environment.reader is not None:
        parts.append("the exception reader works")
    refused = found.facts.auth_enforced
    parts.append("a callback without credentials is refused" if refused else "credentials are not checked")
    return ", ".join(parts)
