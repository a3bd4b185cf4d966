"""The detectors: each reads one client's attempts (in start order) and yields the findings of its patterns."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from itertools import pairwise
from typing import Any

from callback_kit.mock_server.report.advice import Pattern
from callback_kit.mock_server.report.attempt import SLACK, Attempt, groups
from callback_kit.mock_server.report.evidence import finding

# Back-off: the last wait is half as long again as the first (plus the slack); a noisy fixed interval is not.
GROWTH = 1.5


def findings(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    """Every finding of one client's attempts."""
    explained: set[Attempt] = set()  # the attempts a new-key finding already cites
    yield from _new_key_retries(attempts, explained)
    yield from _applied_again(attempts, explained)
    yield from _keys_reused(attempts)
    yield from _unchanged_4xx(attempts)
    yield from _retry_timing(attempts)
    without = [a for a in attempts if a.key is None and not a.refused]  # a refused caller's fault is its token
    if without:
        yield finding("callback-without-key", f"{len(without)} callback(s) carried no idempotency key", without)


def _new_key_retries(attempts: list[Attempt], explained: set[Attempt]) -> Iterable[dict[str, Any]]:
    for group in groups(attempts, lambda a: (a.exception, a.body) if a.body else None):
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
            explained.update(chain)
            yield finding(pattern, summary, chain)


def _applied_again(attempts: list[Attempt], explained: set[Attempt]) -> Iterable[dict[str, Any]]:
    """The same callback (exception and body) applied more than once, when no new-key finding already says so.

    Whatever the timing: a retry under a new key after the client gave up on an answer that came later, a
    keyless retry after a lost answer, the same callback sent again an hour later.
    """
    for group in groups(attempts, lambda a: (a.exception, a.body) if a.body else None):
        applied = [a for a in group if a.applied]
        if len(applied) < 2 or all(a in explained for a in applied):
            continue
        keyed = [a for a in applied if a.key]
        how = [f"under {_many(len({a.key for a in keyed}), 'key')}"] if keyed else []
        if len(keyed) < len(applied):
            how.append(f"{_many(len(applied) - len(keyed), 'time')} without a key")
        summary = (
            f"exception {applied[0].entry.get('exceptionId')}: the same callback was applied {len(applied)} times "
            f"({' and '.join(how)})"
        )
        yield finding("applied-more-than-once", summary, applied)


def _keys_reused(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    for group in groups(attempts, lambda a: (a.exception, a.key) if a.key else None):
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
            yield finding("key-reused-with-different-body", summary, cited)


def _unchanged_4xx(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    def same_refusal(a: Attempt) -> Hashable | None:
        if a.refused:  # the credential is what was refused, whatever the exception and body
            return ("credential", a.credential, a.status, a.entry.get("code"))
        final = 400 <= a.status < 500 and not a.retryable
        return (a.exception, a.body, a.status, a.entry.get("code")) if final and a.body else None

    for group in groups(attempts, same_refusal):
        if len(group) > 1 and group[0].refused:
            first = group[0].entry
            sent = f"credential {first.get('credential')}" if first.get("credential") else "no credential"
            summary = (
                f"{sent}: {first.get('status')} {first.get('code')}, sent again unchanged {len(group) - 1} time(s), "
                "refused the same way"
            )
            yield finding("unchanged-4xx-retried", summary, group)
        elif len(group) > 1:
            first = group[0].entry
            summary = (
                f"exception {first.get('exceptionId')}: {first.get('status')} {first.get('code')} "
                f"sent again unchanged {len(group) - 1} time(s), refused the same way"
            )
            yield finding("unchanged-4xx-retried", summary, group)


def _retry_timing(attempts: list[Attempt]) -> Iterable[dict[str, Any]]:
    def same_request(a: Attempt) -> Hashable | None:
        return (a.exception, "body", a.body) if a.body else (a.exception, "key", a.key) if a.key else None

    for group in groups(attempts, same_request):
        early = [
            (a, b)
            for a, b in pairwise(group)
            if a.retryable and a.retry_after is not None and b.start < a.end + a.retry_after - SLACK
        ]
        if early:
            cited = list(dict.fromkeys(x for pair in early for x in pair))
            told = ", ".join(f"{_ms(b.start - a.end)} of {a.retry_after} s" for a, b in early)
            summary = f"exception {group[0].entry.get('exceptionId')}: retried after waiting {told} asked"
            yield finding("retry-ignores-retry-after", summary, cited)
        for chain in _retry_chains(group):
            waits = [b.start - a.end for a, b in pairwise(chain)]
            grew = waits[-1] > waits[0] * GROWTH + SLACK
            honoured = all(a.retry_after and w >= a.retry_after - SLACK for a, w in zip(chain, waits, strict=False))
            if not grew and not honoured:
                summary = (
                    f"exception {chain[0].entry.get('exceptionId')}: {len(waits)} retries with waits that never grew "
                    f"({', '.join(_ms(w) for w in waits)})"
                )
                yield finding("retry-without-backoff", summary, chain)


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


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
