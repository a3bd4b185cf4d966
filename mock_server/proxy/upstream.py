"""The upstream server, reached with httpx: a request forwarded unchanged but for its hop-by-hop headers.

The answer comes back as the upstream sent it (raw bytes, content encoding kept), framed anew by the proxy's
server; `Answer.decoded` is the body the checks judge. An upstream that cannot be reached, or does not answer
in time, raises `UpstreamFailed`, which the proxy answers as 502 or 504 with the spec's error body.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from callback_kit.mock_server.errors import MockError

RawHeaders = list[tuple[bytes, bytes]]
# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded (nor the framing the server redoes).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"content-length",
    }
)
TIMEOUT_SECONDS = 30.0


class UpstreamFailed(MockError):
    """The upstream could not be reached (502) or did not answer in time (504)."""

    status, code = 502, "MTCH-0021"


class UpstreamTimedOut(UpstreamFailed):
    status, code = 504, "MTCH-0022"


@dataclass(frozen=True)
class Answer:
    """The upstream's answer: status, headers without hop-by-hop ones, and the body's bytes as sent."""

    status: int
    reason: str
    headers: RawHeaders
    body: bytes
    own: bool = False
    """True for an answer the proxy gave itself (a forced status, an upstream down)."""

    @property
    def decoded(self) -> bytes:
        """The body without its content encoding (gzip and deflate; any other is judged as sent)."""
        encoding = next((v for k, v in self.headers if k == b"content-encoding"), b"").strip().lower()
        try:
            if encoding in (b"gzip", b"x-gzip"):
                return gzip.decompress(self.body)
            if encoding == b"deflate":
                return zlib.decompress(self.body)
        except (OSError, zlib.error, EOFError):
            pass
        return self.body


def shown_url(url: str) -> str:
    """`url` without the user and password it may carry, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"***@{netloc}"))


def end_to_end(headers: RawHeaders) -> RawHeaders:
    """`headers` without the hop-by-hop ones, including those a `Connection` header names."""
    named = {
        token.strip().lower() for name, value in headers if name.lower() == b"connection" for token in value.split(b",")
    }
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in named]


class Upstream:
    """One connection pool to the upstream; `send` forwards a request and returns its `Answer`."""

    def __init__(
        self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shown = shown_url(self.base_url)
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False)

    async def send(self, method: str, target: str, headers: RawHeaders, body: bytes) -> Answer:
        """Forward `method target` (path and query as the client wrote them) with its end-to-end headers."""
        request = httpx.Request(method, self.base_url + target, headers=end_to_end(headers), content=body)
        try:
            response = await self._client.send(request, stream=True)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise UpstreamTimedOut(f"the upstream {self.shown} did not answer in time ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise UpstreamFailed(f"the upstream {self.shown} cannot be reached ({type(exc).__name__})") from None
        return Answer(response.status_code, response.reason_phrase, end_to_end(list(response.headers.raw)), raw)

    async def close(self) -> None:
        await self._client.aclose()
