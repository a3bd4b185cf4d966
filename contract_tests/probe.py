"""The start-up probe: before any check, is the run possible, and what does the server show at once?

Only what the user fixes ends the run (`ConfigurationError`, exit 2): an unreachable base URL, a token the
server refuses, a factory that fails or makes exceptions the server does not know for `--token`, a reader
that cannot read the factory's exception. A broken
contract seen on the way is a `Violation` of a named startup check (exit 1) and the run goes on: an answer
whose status the spec does not declare, or another tenant that cannot reach its own exceptions (tenants
mixed). The probe also learns the facts no single exchange shows (does the server check tokens at all?).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import httpx

from callback_kit.contract.checks import Violation, describe, status_declared
from callback_kit.contract.exchange import Exchange
from callback_kit.contract.spec_view import declares
from callback_kit.contract_tests.client import CallbackClient, callback_path, new_key
from callback_kit.contract_tests.divergences import Facts
from callback_kit.contract_tests.environment import Environment
from callback_kit.contract_tests.failures import ConfigurationError
from callback_kit.contract_tests.model import request_body

LABEL = "startup/probe"
DECLARED = "answer_status_is_declared"
OWN_EXCEPTION = "other_tenant_reaches_own_exception"


@dataclass(frozen=True)
class ProbeResult:
    """What the probe found: facts for the divergences, violations by startup check, and what is unusable."""

    facts: Facts = field(default_factory=Facts)
    violations: Mapping[str, Violation] = field(default_factory=dict)
    unusable: Mapping[str, str] = field(default_factory=dict)  # need -> why the run cannot use it
    tokens: Mapping[str, str] = field(default_factory=dict)  # option -> "accepted", or what its callback got
    judged: Mapping[str, int] = field(default_factory=dict)  # startup check -> the probe's answers it judged


def probe(environment: Environment) -> ProbeResult:
    """Probe the server, the tokens and the factory; raises `ConfigurationError` for what the user fixes."""
    client = environment.client.labelled(LABEL)
    settings = environment.settings
    token_option = settings.flag("--token")
    tenants = [(token_option, client)]
    if environment.other is not None:
        tenants.append((settings.flag("--other-tenant-token"), environment.other.labelled(LABEL)))
    violations: dict[str, Violation] = {}
    unusable: dict[str, str] = {}
    seen: dict[str, str] = {}
    judged: Counter[str] = Counter()
    for option, tenant in tenants:
        answer = _call(tenant, str(uuid.uuid4()), environment)
        if answer.status in (401, 403):
            raise ConfigurationError(
                f"the server refused {option} ({answer.status} {answer.excerpt(200)}); "
                "give a token of a tenant allowed to process callbacks"
            )
        seen[option] = _token_seen(answer, environment)
        _declared(answer, environment, violations, judged)
    anonymous = _send(
        client, environment, "POST", callback_path(str(uuid.uuid4())), b"{}", {"Content-Type": "application/json"}
    )
    auth_enforced = anonymous.status in (401, 403)
    if environment.factory is not None:
        for option, tenant in tenants:
            exception_id = environment.factory.create("OPEN", tenant.token)
            answer = _call(tenant, exception_id, environment)
            _declared(answer, environment, violations, judged)
            if option != token_option:
                judged[OWN_EXCEPTION] += 1
            if answer.status != 404:
                if option == token_option:
                    _read(environment, exception_id, tenant.token)
                continue
            if option == token_option:
                raise ConfigurationError(
                    f"the exception factory made {exception_id} for the tenant of {option}, but the server does not "
                    f"know it (404 {answer.excerpt(200)}); does the factory talk to the server under test?"
                )
            violations[OWN_EXCEPTION] = _own_exception_lost(answer, exception_id, environment)
            unusable["other_tenant"] = f"the other tenant cannot reach its own exceptions (startup/{OWN_EXCEPTION})"
    tokens = frozenset(filter(None, (settings.token, settings.other_tenant_token)))
    facts = Facts(auth_enforced=auth_enforced, tokens=tokens, other_tenant_token=settings.other_tenant_token)
    return ProbeResult(facts, violations, unusable, seen, judged)


def _token_seen(answer: Exchange, environment: Environment) -> str:
    """`accepted` only on an answer that shows it (a status the spec declares, not 401/403); else the answer."""
    if declares(environment.spec, answer.status):
        return "accepted"
    return f"not shown accepted (the callback was answered {answer.status}, a status the spec does not declare)"


def _read(environment: Environment, exception_id: str, token: str) -> None:
    """The reader reads the exception the factory made (raises `ReaderError`, a configuration error, if not)."""
    if environment.reader is None:
        return
    seen = environment.reader.read(exception_id, token)
    if seen.status != "OPEN":
        raise ConfigurationError(
            f"the exception reader read {exception_id} as {seen.status!r}, but the factory made it OPEN; does the "
            "reader read the server under test?"
        )


def _declared(
    answer: Exchange, environment: Environment, violations: dict[str, Violation], judged: Counter[str]
) -> None:
    """The shared `status_declared` check on a probe's answer (the first violation is kept)."""
    judged[DECLARED] += 1
    found = None if DECLARED in violations else status_declared(answer, environment.spec, environment.contract)
    if found is None:
        return
    title = f"The start-up probe's callback was answered {answer.status}, a status the spec does not declare"
    violations[DECLARED] = replace(found, title=title)


def _own_exception_lost(answer: Exchange, exception_id: str, environment: Environment) -> Violation:
    return Violation(
        check="not_found",
        title="The other tenant's own exception answered 404 to that tenant: the server mixes tenants",
        expected=f"200: the exception factory made {exception_id} for the tenant of "
        f"{environment.settings.flag('--other-tenant-token')}",
        received=describe(answer, environment.contract),
        exchange=answer,
        expected_status=200,
    )


def _call(client: CallbackClient, exception_id: str, environment: Environment) -> Exchange:
    try:
        return client.callback(exception_id, request_body("OPEN"), key=new_key())
    except httpx.TransportError as exc:
        raise _unreachable(exc, environment) from None


def _send(
    client: CallbackClient, environment: Environment, method: str, path: str, body: bytes, headers: dict[str, str]
) -> Exchange:
    try:
        return client.send(method, path, content=body, headers=headers)
    except httpx.TransportError as exc:
        raise _unreachable(exc, environment) from None


def _unreachable(exc: httpx.TransportError, environment: Environment) -> ConfigurationError:
    settings = environment.settings
    if isinstance(exc, httpx.TimeoutException):
        return ConfigurationError(
            f"{settings.flag('--base-url')} {settings.base_url} did not answer within {settings.timeout:g} s "
            f"({settings.flag('--timeout')})"
        )
    return ConfigurationError(f"cannot reach {settings.flag('--base-url')} {settings.base_url}: {exc!r}")
