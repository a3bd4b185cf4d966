"""The startup checks: what the start-up probe saw of the contract, judged as named checks.

The probe (`probe.py`) runs before every check; a broken contract it meets is recorded there and failed here,
so that the run goes on with what can still be checked (exit 1, not a configuration error).
"""

from __future__ import annotations

from callback_kit.contract_tests.probe import DECLARED, OWN_EXCEPTION
from callback_kit.contract_tests.registry import Context, check


@check("startup")
def answer_status_is_declared(ctx: Context) -> None:
    """Every answer to the probe's callbacks has a status the spec declares for the operation."""
    ctx.require(ctx.probe.violations.get(DECLARED))


@check("startup", needs=("factory", "second_token"))
def other_tenant_reaches_own_exception(ctx: Context) -> None:
    """An exception the factory made for the other tenant is that tenant's: its callback is not 404."""
    ctx.require(ctx.probe.violations.get(OWN_EXCEPTION))
