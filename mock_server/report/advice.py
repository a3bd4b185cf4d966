"""The report's vocabulary: the name of each retry pattern, and one line of advice for each."""

from __future__ import annotations

from typing import Literal

Pattern = Literal[
    "new-key-after-lost-response",
    "new-key-after-timeout",
    "applied-more-than-once",
    "key-reused-with-different-body",
    "unchanged-4xx-retried",
    "retry-ignores-retry-after",
    "retry-without-backoff",
    "callback-without-key",
]
ADVICE: dict[Pattern, str] = {
    "new-key-after-lost-response": "Retry a callback whose answer was lost with the SAME key: the stored answer is "
    "replayed instead of the callback being applied again.",
    "new-key-after-timeout": "A timeout does not mean the callback failed: retry with the SAME key (409 while it is "
    "still processing, then the stored answer), never with a new one.",
    "applied-more-than-once": "Send a callback once and retry it with the SAME key, whatever went wrong (a timeout, "
    "a lost answer): the stored answer is replayed instead of the callback being applied again.",
    "key-reused-with-different-body": "Give every new callback body a new key: a key already answered replays its "
    "first answer, and the new body is never applied.",
    "unchanged-4xx-retried": "A 4xx other than 409 MTCH-0018 and 429 does not go away on retry: fix the request "
    "(body, token, exception id) or stop and report it.",
    "retry-ignores-retry-after": "Wait at least Retry-After seconds before retrying a 409, 429 or 503.",
    "retry-without-backoff": "Back off between retries: let the wait grow (exponentially, with jitter) and cap the "
    "number of attempts.",
    "callback-without-key": "Send X-Idempotency-Key with every callback, so that a retry after a timeout or a lost "
    "answer cannot apply it twice.",
}
