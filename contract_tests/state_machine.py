"""The state machine: Hypothesis drives callbacks over a few exceptions, with fresh and reused keys, and every
answer (status, replay flag, error code or exact bytes) is compared with `callback_kit.contract_tests.model`
by the named check `matches_model`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from callback_kit.contract.checks import matches_model
from callback_kit.contract_tests.client import CallbackClient, new_key
from callback_kit.contract_tests.environment import Environment
from callback_kit.contract_tests.factory import ExceptionFactory
from callback_kit.contract_tests.failures import CheckFailed
from callback_kit.contract_tests.model import STATUSES, Model, Status, request_body
from callback_kit.contract_tests.registry import Context, check

STEPS = 20
HISTORY = 15
PROGRESS_EVERY = 50


@dataclass(frozen=True)
class Run:
    """What the machine works with: bound once per test run by `machine_for`."""

    environment: Environment
    client: CallbackClient
    factory: ExceptionFactory
    progress: Callable[[str], None]
    walks: list[float]  # when each walk ended


@dataclass(frozen=True)
class UsedKey:
    """A key and the request it was first sent with."""

    key: str
    exception_id: str
    body: dict[str, Any]


class CallbackMachine(RuleBasedStateMachine):
    """Callbacks over 2-3 exceptions of one tenant; `run` is bound by `machine_for`."""

    run: ClassVar[Run]
    keys = Bundle("keys")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(self.run.environment.contract)
        self.ids: list[str] = []
        self.history: list[str] = []

    @initialize(statuses=st.lists(st.sampled_from(STATUSES), min_size=2, max_size=3))
    def provision(self, statuses: list[Status]) -> None:
        for status in statuses:
            exception_id = self.run.factory.create(status, self.run.client.token)
            self.ids.append(exception_id)
            self.model.add(exception_id, status)
            self.history.append(f"provision {exception_id} in {status}")

    @rule(target=keys, which=st.integers(0, 2), status=st.sampled_from(STATUSES), header=st.integers(0, 2))
    def callback_with_new_key(self, which: int, status: Status, header: int) -> UsedKey:
        used = UsedKey(new_key(), self._pick(which), request_body(status))
        self._send(used.exception_id, used.body, used.key, header)
        return used

    @rule(used=keys, header=st.integers(0, 2))
    def retry_with_same_key(self, used: UsedKey, header: int) -> None:
        self._send(used.exception_id, used.body, used.key, header)

    @rule(used=keys, status=st.sampled_from(STATUSES))
    def reuse_key_with_another_body(self, used: UsedKey, status: Status) -> None:
        self._send(used.exception_id, request_body(status), used.key, 0)

    @rule(used=keys, which=st.integers(0, 2))
    def reuse_key_on_another_exception(self, used: UsedKey, which: int) -> None:
        others = [exception_id for exception_id in self.ids if exception_id != used.exception_id]
        self._send(others[which % len(others)], used.body, used.key, 0)

    @rule(which=st.integers(0, 2), status=st.sampled_from(STATUSES))
    def callback_without_key(self, which: int, status: Status) -> None:
        self._send(self._pick(which), request_body(status), None, 0)

    @rule(status=st.sampled_from(STATUSES))
    def callback_to_unknown_exception(self, status: Status) -> None:
        self._send(str(uuid.uuid4()), request_body(status), new_key(), 0)

    def teardown(self) -> None:
        self.run.walks.append(time.monotonic())
        if len(self.run.walks) % PROGRESS_EVERY == 0:
            self.run.progress(f"state machine: {len(self.run.walks)} random walks")

    def _pick(self, which: int) -> str:
        return self.ids[which % len(self.ids)]

    def _send(self, exception_id: str, body: dict[str, Any], key: str | None, header: int) -> None:
        contract = self.run.environment.contract
        # 0: the first key header; 1: the last one (the alias); 2: all of them, with the same key.
        names = {0: contract.headers[:1], 1: contract.headers[-1:], 2: contract.headers}[header]
        expected = self.model.predict(exception_id, body, key)
        answer = self.run.client.callback(exception_id, body, key=key, key_headers=names)
        self.history.append(
            f"{body['status']} on {exception_id} with {key or 'no key'} in {', '.join(names) if key else '-'}: "
            f"{answer.status} {contract.replay_header}={answer.header(contract.replay_header) or '-'}"
        )
        violation = matches_model(answer, expected, contract, "\n".join(self.history[-HISTORY:]))
        if violation is not None:
            raise CheckFailed(violation)
        self.model.commit(exception_id, body, key, answer.status, answer.body)


def machine_for(
    environment: Environment,
    client: CallbackClient,
    factory: ExceptionFactory,
    progress: Callable[[str], None] = lambda _: None,
) -> type[CallbackMachine]:
    """The machine bound to this run, seeded with the run's seed."""
    run = Run(environment, client, factory, progress, [])
    bound = type("CallbackMachine", (CallbackMachine,), {"run": run})
    return seed(environment.settings.seed)(bound)


@check("state_machine", needs=("factory",))
def state_machine_matches_model(ctx: Context) -> None:
    """Every answer to a random walk of callbacks is what the model of the contract predicts."""
    examples = max(10, ctx.environment.settings.max_examples // 4)
    run_state_machine_as_test(
        machine_for(ctx.environment, ctx.client, ctx.factory, ctx.progress),
        settings=settings(
            max_examples=examples,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            derandomize=False,
            phases=(Phase.explicit, Phase.generate),  # no shrinking: each step is a request; the log shows all
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            report_multiple_bugs=False,
            verbosity=Verbosity.quiet,  # the failure is reported by the suite, with its steps
        ),
    )
    ctx.note(f"{examples} random walks of up to {STEPS} callbacks")
