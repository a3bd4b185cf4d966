"""The run's environment: settings, the contract, clients for both tenants and the factory, probed before use.

`open_environment` refuses to start (`ConfigurationError`, exit 2) when the server cannot be reached, a
token is refused, or the factory does not produce exceptions the server knows: a run never passes because
nothing could be tested.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from callback_kit.contract import (
    ContractError,
    IdempotencyContract,
    callback_operation,
    idempotency_contract,
    load_spec,
)
from callback_kit.contract_tests.client import CallbackClient, Exchange, Recorder, new_key
from callback_kit.contract_tests.config import Settings
from callback_kit.contract_tests.factory import CommandFactory, ExceptionFactory, MockFactory
from callback_kit.contract_tests.failures import ConfigurationError
from callback_kit.contract_tests.model import request_body


@dataclass(frozen=True)
class Environment:
    """Everything a check needs; shared by the whole run."""

    settings: Settings
    spec: dict[str, Any]
    contract: IdempotencyContract
    stored: tuple[str, ...]
    recorder: Recorder
    client: CallbackClient
    other: CallbackClient | None
    factory: ExceptionFactory | None

    def close(self) -> None:
        self.client.http.close()


def open_environment(settings: Settings) -> Environment:
    """Build the environment and probe the server, the tokens and the factory."""
    try:
        spec = load_spec(settings.spec_path)
        contract = idempotency_contract(spec)
        # The typed contract leaves out what a replay repeats; the block lists it (status and body at least).
        stored = tuple(str(part).lower() for part in callback_operation(spec)["x-idempotency"].get("stored", ()))
    except (OSError, ContractError) as exc:
        raise ConfigurationError(f"the spec {settings.spec_path} is not usable: {exc}") from None
    recorder = Recorder()
    http = httpx.Client(base_url=settings.base_url, timeout=settings.timeout, follow_redirects=False)
    client = CallbackClient(http, recorder, settings.token, contract.headers[0], settings.secrets)
    other = client.as_token(settings.other_tenant_token) if settings.other_tenant_token else None
    factory: ExceptionFactory | None = None
    if settings.factory_kind == "mock":
        factory = MockFactory(client, settings.admin_token or "")
    elif settings.factory_kind == "command":
        factory = CommandFactory(settings.exception_factory or "", settings.base_url)
    environment = Environment(settings, spec, contract, stored, recorder, client, other, factory)
    try:
        _probe(environment)
    except BaseException:
        environment.close()
        raise
    return environment


def _probe(environment: Environment) -> None:
    client = environment.client.labelled("probe")
    tenants = [("--token", client)]
    if environment.other is not None:
        tenants.append(("--other-tenant-token", environment.other.labelled("probe")))
    for option, tenant in tenants:
        answer = _call(tenant, str(uuid.uuid4()), environment.settings.base_url)
        if answer.status in (401, 403):
            raise ConfigurationError(
                f"the server refused {option} ({answer.status} {answer.body[:200].decode('utf-8', 'replace')}); "
                "give a token of a tenant allowed to process callbacks"
            )
    if environment.factory is None:
        return
    for option, tenant in tenants:
        exception_id = environment.factory.create("OPEN", tenant.token)
        answer = _call(tenant, exception_id, environment.settings.base_url)
        if answer.status != 200:
            raise ConfigurationError(
                f"the exception factory made {exception_id} for the tenant of {option}, but a callback to it "
                f"answered {answer.status} {answer.body[:200].decode('utf-8', 'replace')}"
            )


def _call(client: CallbackClient, exception_id: str, base_url: str) -> Exchange:
    try:
        return client.callback(exception_id, request_body("OPEN"), key=new_key())
    except httpx.TransportError as exc:
        raise ConfigurationError(f"cannot reach --base-url {base_url}: {exc!r}") from None
