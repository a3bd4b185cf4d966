"""The retry report: what the request journal says about each client's retry logic.

`build_report(entries)` takes journal entries (oldest first, as `Store.journal` returns them) and names, for
each client (tenant, principal), the patterns that lose or duplicate work, each finding citing its entries:

    new-key-after-lost-response     the answer was lost, and the same callback came again under a new key
    new-key-after-timeout           the same callback came under a new key while the first was still processing
    key-reused-with-different-body  a key whose answer was stored (or in flight) came with another body
    unchanged-4xx-retried           a request refused with a final 4xx came again unchanged, and was refused again
    retry-ignores-retry-after       a retry came before the Retry-After of the answer it retried had passed
    retry-without-backoff           three or more attempts whose waits never grew
    callback-without-key            callbacks without an idempotency key

Beside the findings, `violations` lists the contract violations the entries carry (a validating proxy's).

A pure function: no I/O and no clock of its own. An entry's `at` is when its answer was written, so the
attempt started `latencyMs` earlier; attempts are compared in the order they started. "The same request" is
the same exception and body (fingerprint); an entry journaled without its body (a fault that answered before
reading it) is taken to carry the body its key carried elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal

from callback_kit.mock_server.clock import iso
from callback_kit.mock_server.violations import violations_of

Pattern = Literal[
    "new-key-after-lost-response",
    "new-key-after-timeout",
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
IN_FLIGHT_CODE = "MTCH-0018"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Journal times are cut to the millisecond: two moments closer than this are not called ordered.
SLACK = 0.005
# Back-off: the last wait is half as long again as the first (plus the slack); a noisy fixed interval is not.
GROWTH = 1.5
MAX_CITED = 20


@dataclass(frozen=True, eq=False)
class Attempt:
    """One journal entry, with its start and end as seconds since the epoch (compared by identity)."""

    entry: dict[str, Any]
    start: float
    end: float
    body: str | None

    @property
    def key(self) -> str | None:
        return self.entry.get("idempotencyKey")

    @property
    def status(self) -> int:
        return int(self.entry.get("status") or 0)

    @property
    def exception(self) -> str:
        return str(self.entry.get("exceptionId") or "").lower()

    @property
    def retry_after(self) -> int | None:
        return self.entry.get("retryAfter")

    @property
    def lost(self) -> bool:
        """The client never got this answer (the mock drops only answers below 400)."""
        fault = self.entry.get("fault") or {}
        return fault.get("action") == "lost_response" and self.status < 400

    @property
    def applied(self) -> bool:
        return 0 < self.status < 400 and self.entry.get("replayed") is not True

    @property
    def retryable(self) -> bool:
        """An error that asks to be retried later: 429, a 5xx, or 409 for a key in flight."""
        return self.status in RETRYABLE_STATUSES or (self.status == 409 and self.entry.get("code") == IN_FLIGHT_CODE)


def build_report(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The retry report of these journal entries (oldest first): per client, counts, findings and a verdict."""
    clients: dict[tuple[str | None, str | None], list[Attempt]] = defaultdict(list)
    for entry in entries:
        clients[(entry.get("tenant"), entry.get("principal"))].append(_attempt(entry))
    sections: list[dict[str, Any]] = []
    for (tenant, principal), journaled in sorted(clients.items(), key=lambda item: (str(item[0][1]), str(item[0][0]))):
        attempts = sorted(_with_bodies(journaled), key=lambda a: a.start)  # stable: ties keep the journal's order
        findings = sorted(_findings(attempts), key=lambda f: (f["startedAt"], f["pattern"]))
        sections.append(
            {
                "tenant": tenant,
                "principal": principal,
                "counts": _counts(attempts),
                "verdict": _verdict(len(findings)),
                "findings": findings,
            }
        )
    total = sum(len(s["findings"]) for s in sections)
    violations = violations_of(entries)
    return {
        "verdict": _verdict(total, len(violations)),
        "findings": total,
        "violations": violations,
        "entries": len(entries),
        "from": entries[0].get("at") if entries else None,
        "to": entries[-1].get("at") if entries else None,
        "clients": sections,
    }


def _attempt(entry: dict[str, Any]) -> Attempt:
    at = entry.get("at")
    try:
        end = datetime.fromisoformat(str(at)).timestamp()
    except ValueError:
        raise ValueError(
            f"journal entry {entry.get('requestId')!r} has at={at!r}: expected RFC 3339, e.g. 2026-11-01T09:00:00.000Z"
        ) from None
    return Attempt(entry, end - float(entry.get("latencyMs") or 0) / 1000, end, entry.get("fingerprint"))


def _with_bodies(attempts: list[Attempt]) -> list[Attempt]:
    """The attempts, those without a body given the body that their key carried in another attempt."""
    known = {(a.exception, a.key): a.body for a in attempts if a.key and a.body}
    return [a if a.body or not a.key else replace(a, body=known.get((a.exception, a.key))) for a in attempts]


def _findings(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    yield from _new_key_retries(attempts)
    yield from _keys_reused(attempts)
    yield from _unchanged_4xx(attempts)
    yield from _retry_timing(attempts)
    without = [a for a in attempts if a.key is None]
    if without:
        yield _finding("callback-without-key", f"{len(without)} callback(s) carried no idempotency key", without)


def _new_key_retries(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    for group in _groups(attempts, lambda a: (a.exception, a.body) if a.body else None):
        chains: dict[tuple[Pattern, int], list[Attempt]] = {}
        root: dict[int, int] = {}
        running: list[int] = []  # earlier attempts still being processed when this one started
        for i, retry in enumerate(group):
            running = [j for j in running if retry.start < group[j].end - SLACK]
            pattern: Pattern = "new-key-after-lost-response"
            earlier = i - 1 if i and group[i - 1].lost and group[i - 1].key != retry.key else None
            if earlier is None:
                pattern = "new-key-after-timeout"
                earlier = next((j for j in running if group[j].key != retry.key), None)
            running.append(i)
            if earlier is None:
                continue
            root[i] = root.get(earlier, earlier)
            chain = chains.setdefault((pattern, root[i]), [group[root[i]]])
            chain.extend(a for a in (group[earlier], retry) if a not in chain)
        for (pattern, _), chain in chains.items():
            new_keys = len({a.key for a in chain}) - 1
            if pattern == "new-key-after-lost-response":
                what = f"an answer was lost, and the same callback was sent again under {new_keys} new key(s)"
            else:
                what = f"the same callback was sent again under {new_keys} new key(s) while an attempt was processing"
            applied = sum(a.applied for a in chain)
            summary = f"exception {chain[0].entry.get('exceptionId')}: {what}; it was applied {applied} times"
            yield _finding(pattern, summary, chain)


def _keys_reused(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    for group in _groups(attempts, lambda a: (a.exception, a.key) if a.key else None):
        first: dict[str, Attempt] = {}  # the first attempt of each body
        stored: dict[str, Attempt] = {}  # the first answered attempt of each body: its answer is what replays
        running: list[Attempt] = []  # attempts holding the key while this one arrived
        cited: list[Attempt] = []
        for attempt in group:
            running = [a for a in running if attempt.start < a.end - SLACK]
            if attempt.body:
                holders = [a for a in [*stored.values(), *running] if a.body and a.body != attempt.body]
                if not holders and attempt.entry.get("replayed") is True:
                    # A replay for this body is another body's answer, whatever the spec's storeStatusBelow.
                    holders = [a for body, a in first.items() if body != attempt.body][:1]
                cited.extend(a for a in [*holders, attempt] if holders and a not in cited)
                first.setdefault(attempt.body, attempt)
                if 0 < attempt.status < 400:
                    stored.setdefault(attempt.body, attempt)
            if attempt.entry.get("claimed"):
                running.append(attempt)
        if cited:
            cited.sort(key=lambda a: a.start)
            dropped = sum(not a.applied for a in cited[1:])
            summary = (
                f"key {cited[0].key!r} of exception {cited[0].entry.get('exceptionId')} was sent with "
                f"{len({a.body for a in cited})} different bodies; {dropped} attempt(s) not applied"
            )
            yield _finding("key-reused-with-different-body", summary, cited)


def _unchanged_4xx(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    def same_refusal(a: Attempt) -> Hashable | None:
        final = 400 <= a.status < 500 and not a.retryable
        return (a.exception, a.body, a.status, a.entry.get("code")) if final and a.body else None

    for group in _groups(attempts, same_refusal):
        if len(group) > 1:
            first = group[0].entry
            summary = (
                f"exception {first.get('exceptionId')}: {first.get('status')} {first.get('code')} "
                f"sent again unchanged {len(group) - 1} time(s), refused the same way"
            )
            yield _finding("unchanged-4xx-retried", summary, group)


def _retry_timing(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    def same_request(a: Attempt) -> Hashable | None:
        return (a.exception, "body", a.body) if a.body else (a.exception, "key", a.key) if a.key else None

    for group in _groups(attempts, same_request):
        early = [
            (a, b)
            for a, b in pairwise(group)
            if a.retryable and a.retry_after is not None and b.start < a.end + a.retry_after - SLACK
        ]
        if early:
            cited = list(dict.fromkeys(x for pair in early for x in pair))
            told = ", ".join(f"{_ms(b.start - a.end)} of {a.retry_after} s" for a, b in early)
            summary = f"exception {group[0].entry.get('exceptionId')}: retried after waiting {told} asked"
            yield _finding("retry-ignores-retry-after", summary, cited)
        for chain in _retry_chains(group):
            waits = [b.start - a.end for a, b in pairwise(chain)]
            grew = waits[-1] > waits[0] * GROWTH + SLACK
            honoured = all(a.retry_after and w >= a.retry_after - SLACK for a, w in zip(chain, waits, strict=False))
            if not grew and not honoured:
                summary = (
                    f"exception {chain[0].entry.get('exceptionId')}: {len(waits)} retries with waits that never grew "
                    f"({', '.join(_ms(w) for w in waits)})"
                )
                yield _finding("retry-without-backoff", summary, chain)


def _retry_chains(group: list[Attempt]) -> Iterable[list[Attempt]]:
    """Runs of attempts in which every attempt but the last got a retryable error; two waits at least."""
    chain: list[Attempt] = []
    for attempt in group:
        chain.append(attempt)
        if not attempt.retryable:
            if len(chain) >= 3:
                yield chain
            chain = []
    if len(chain) >= 3:
        yield chain


def _groups(attempts: list[Attempt], key: Any) -> Iterable[list[Attempt]]:
    """The attempts that share a grouping key (None: in no group), each group in start order."""
    groups: dict[Hashable, list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        value = key(attempt)
        if value is not None:
            groups[value].append(attempt)
    return groups.values()


def _finding(pattern: Pattern, summary: str, cited: list[Attempt]) -> dict[str, Any]:
    cited = sorted(cited, key=lambda a: a.start)
    finding: dict[str, Any] = {
        "pattern": pattern,
        "startedAt": iso(cited[0].start),
        "summary": summary,
        "advice": ADVICE[pattern],
        "evidence": [_evidence(a) for a in cited[:MAX_CITED]],
    }
    if len(cited) > MAX_CITED:
        finding["omitted"] = len(cited) - MAX_CITED
    return finding


def _evidence(attempt: Attempt) -> dict[str, Any]:
    entry = attempt.entry
    fault = entry.get("fault") or {}
    return {
        "requestId": entry.get("requestId"),
        "at": entry.get("at"),
        "exceptionId": entry.get("exceptionId"),
        "idempotencyKey": attempt.key,
        "status": entry.get("status"),
        "code": entry.get("code"),
        "replayed": entry.get("replayed"),
        "retryAfter": attempt.retry_after,
        "fault": fault.get("action"),
        "latencyMs": entry.get("latencyMs"),
    }


def _counts(attempts: list[Attempt]) -> dict[str, int]:
    return {
        "requests": len(attempts),
        "replays": sum(a.entry.get("replayed") is True for a in attempts),
        "errors": sum(a.status >= 400 for a in attempts),
        "lostResponses": sum(a.lost for a in attempts),
        "withoutKey": sum(a.key is None for a in attempts),
    }


def _verdict(findings: int, violations: int = 0) -> str:
    parts = [f"{n} {noun}{'s' if n > 1 else ''}" for n, noun in ((findings, "finding"), (violations, "violation")) if n]
    return ", ".join(parts) or "clean"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
