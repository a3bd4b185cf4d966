"""The run's environment: settings, the contract, clients for both tenants, the factory and the reader.

`open_environment` refuses to start (`ConfigurationError`, exit 2) on what the user fixes before any request
is sent: a spec the kit cannot use, a report path that cannot be written. The server, the tokens and the
factory are probed next (`probe.py`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx

from callback_kit.contract import ContractError, IdempotencyContract, idempotency_contract
from callback_kit.contract.spec import SpecProblem, read_spec
from callback_kit.contract_tests.client import CallbackClient, Recorder
from callback_kit.contract_tests.config import Settings
from callback_kit.contract_tests.factory import CommandFactory, ExceptionFactory, MockFactory
from callback_kit.contract_tests.failures import ConfigurationError
from callback_kit.contract_tests.reader import CommandReader, ExceptionReader, MockReader
from callback_kit.reporting.paths import UnwritablePath, writable_file


@dataclass(frozen=True)
class Environment:
    """Everything a check needs; shared by the whole run."""

    settings: Settings
    spec: dict[str, Any]
    contract: IdempotencyContract
    recorder: Recorder
    client: CallbackClient
    other: CallbackClient | None
    factory: ExceptionFactory | None
    reader: ExceptionReader | None
    stop: threading.Event

    def close(self) -> None:
        """Stop what the factory and the reader run, and close the connections."""
        if self.factory is not None:
            self.factory.close()
        if self.reader is not None:
            self.reader.close()
        self.client.http.close()


def open_environment(settings: Settings, stop: threading.Event | None = None) -> Environment:
    """Build the environment; nothing is sent yet."""
    check_report_paths(settings)
    try:
        spec = read_spec(settings.spec_path)
        contract = idempotency_contract(spec)
    except (SpecProblem, ContractError) as exc:
        raise ConfigurationError(f"the spec {settings.spec_path} is not usable: {exc}") from None
    stop = stop or threading.Event()
    recorder = Recorder()
    http = httpx.Client(base_url=settings.base_url, timeout=settings.timeout, follow_redirects=False)
    client = CallbackClient(http, recorder, settings.token, contract.headers[0], settings.headers, stop)
    other = client.as_token(settings.other_tenant_token) if settings.other_tenant_token else None
    factory: ExceptionFactory | None = None
    if settings.factory_kind == "mock":
        factory = MockFactory(client, settings.admin_token or "", settings.flag("--admin-token"))
    elif settings.factory_kind == "command":
        factory = CommandFactory(settings.exception_factory or "", settings.base_url, stop)
    reader: ExceptionReader | None = None
    if settings.reader_kind == "mock":
        reader = MockReader(client, settings.admin_token or "", settings.flag("--admin-token"))
    elif settings.reader_kind == "command":
        reader = CommandReader(settings.exception_reader or "", settings.base_url, stop)
    return Environment(settings, spec, contract, recorder, client, other, factory, reader, stop)


def check_report_paths(settings: Settings) -> None:
    """Each report path can be written (its folder is made): checked before any request, not after the run."""
    try:
        for option, path in ((settings.flag("--junit"), settings.junit), (settings.flag("--har"), settings.har)):
            if path is not None:
                writable_file(option, path)
    except UnwritablePath as exc:
        raise ConfigurationError(str(exc)) from None
