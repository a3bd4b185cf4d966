"""The proxy's `/_mock/` admin API: the mock's own (`mock_server.admin`, `admin.yaml`), on the proxy's store.

Exceptions live upstream, so the operations that create or read one are left out (the list stays, empty, for
the inspector); a reset forgets the journal, the first answers, the fault rules and the clock offset.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from connexion import AsyncApp
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

import callback_kit.mock_server.quiet  # noqa: F401  (first: it silences a warning Connexion's import raises)
from callback_kit.contract import load_spec
from callback_kit.mock_server.admin import AdminApi
from callback_kit.mock_server.app import ADMIN_SPEC, connexion_handler, error_responder
from callback_kit.mock_server.auth import bearer_handler
from callback_kit.mock_server.errors import MockError
from callback_kit.mock_server.profiles import PUBLISHED

LEFT_OUT = frozenset({"createException", "getException"})


class ProxyAdmin(AdminApi):
    """The mock's admin operations; a reset clears the proxy's state instead of seeding fixtures."""

    async def reset_state(self) -> JSONResponse:
        await self.store.seed([], replace=True)
        return JSONResponse({"exceptions": 0})


def admin_app(admin: ProxyAdmin, on_shutdown: Callable[[], Awaitable[None]]) -> AsyncApp:
    """The admin API as a Connexion app under `/_mock`; `on_shutdown` runs when the server stops."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        await on_shutdown()

    operations = {k: v for k, v in admin.operations().items() if k not in LEFT_OUT}
    app = AsyncApp(__name__, lifespan=lifespan, security_map={"bearer": bearer_handler(admin.authenticator)})
    app.add_api(
        _without(load_spec(ADMIN_SPEC), LEFT_OUT),
        base_path="/_mock",
        resolver=Resolver(function_resolver=operations.__getitem__),
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"),
    )
    respond = error_responder(PUBLISHED)
    for kind in (MockError, ProblemException, HTTPException, Exception):
        app.add_error_handler(kind, connexion_handler(respond))
    return app


def _without(spec: dict[str, Any], operation_ids: frozenset[str]) -> dict[str, Any]:
    """A copy of `spec` without the named operations (and without paths left empty)."""
    trimmed = copy.deepcopy(spec)
    for path, item in list(trimmed["paths"].items()):
        for method, operation in list(item.items()):
            if isinstance(operation, dict) and operation.get("operationId") in operation_ids:
                del item[method]
        if not any(isinstance(op, dict) and "operationId" in op for op in item.values()):
            del trimmed["paths"][path]
    return trimmed
