"""The ceiling: a bare Starlette endpoint doing the least work the callback needs, for the bench to compare to.

It checks the bearer token against one known token (401), parses the JSON body (400), checks the three
required fields (400) and answers `{"status":"accepted"}` with `X-Idempotency-Replayed: false`. No routing
beyond one route, no validation framework, no store. Served like the mock: uvicorn, default loop and HTTP
parser (uvloop and httptools when installed), no access log.

    uvicorn bench.bare:app --port 8199 --log-level warning --no-access-log
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TOKEN = "acme-integration-token"
REQUIRED = ("externalSystem", "externalIssueId", "status")
ACCEPTED = b'{"status":"accepted"}'


def _error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"code": code, "title": "Bad Request" if status == 400 else "Unauthorized", "message": message})
    return Response(body, status, media_type="application/json")


async def callback(request: Request) -> Response:
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return _error(401, "MTCH-0003", "invalid authorization token")
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _error(400, "MTCH-0001", "request body is not valid JSON")
    if not isinstance(body, dict) or any(not isinstance(body.get(name), str) for name in REQUIRED):
        return _error(400, "MTCH-0001", "invalid request body: a required field is missing")
    return Response(ACCEPTED, 200, media_type="application/json", headers={"X-Idempotency-Replayed": "false"})


app = Starlette(routes=[Route("/v1/exceptions/{exceptionId}/callback", callback, methods=["POST"])])
