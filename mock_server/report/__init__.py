"""The retry report: what the request journal says about each client's retry logic.

`build_report(entries)` takes journal entries (oldest first, as `Store.journal` returns them) and names, for
each client (tenant and principal; a refused caller by its credential digest), the patterns that lose or
duplicate work, each finding citing its entries (in the order they started):

    new-key-after-lost-response     the answer was lost, and the same callback came again under a new key
    new-key-after-timeout           the same callback came under a new key while the first was still processing
    applied-more-than-once          the same callback was applied more than once, and no new-key finding says so
    key-reused-with-different-body  a key whose answer was stored (or in flight) came with another body
    unchanged-4xx-retried           a request refused with a final 4xx (or a refused credential) came again unchanged
    retry-ignores-retry-after       a retry came before the Retry-After of the answer it retried had passed
    retry-without-backoff           three or more attempts whose waits never grew
    callback-without-key            callbacks without an idempotency key (security's refusals aside)

Beside the findings, `violations` lists the contract violations the entries carry (a validating proxy's).

A pure function: no I/O and no clock of its own. An entry's `at` is when its answer was written, so the
attempt started `latencyMs` earlier; attempts are compared in the order they started. "The same request" is
the same exception and body (fingerprint); an entry journaled without its body (a fault that answered before
reading it) is taken to carry the body its key carried elsewhere.
"""

from callback_kit.mock_server.report.advice import ADVICE, Pattern
from callback_kit.mock_server.report.build import build_report
from callback_kit.mock_server.report.evidence import MAX_CITED

__all__ = ["ADVICE", "MAX_CITED", "Pattern", "build_report"]
