"""The ticket sync client against the kit's mock: lost answers, 503s and rate limits, graded by the retry report."""

from collections.abc import Iterator

import pytest
from ticket_sync import CallbackFailed, TicketSync

from callback_kit.testing import CallbackMock


@pytest.fixture
def sync(callback_mock: CallbackMock) -> Iterator[TicketSync]:
    # The client's waits move the mock's clock instead of sleeping: the test takes milliseconds,
    # and the retry report still sees how long the client waited.
    client = TicketSync(callback_mock.url, callback_mock.acme.token, sleep=callback_mock.move_clock)
    yield client
    client.close()


def test_a_lost_answer_is_retried_with_the_same_key(callback_mock: CallbackMock, sync: TicketSync) -> None:
    """The mock applies the callback but loses its answer; the client retries with the same key, applied once."""
    exception_id = callback_mock.create_exception("OPEN")
    callback_mock.faults.lose_response(times=1)

    delivered = sync.resolve(exception_id, "RECON-1234")

    callback_mock.assert_no_findings()
    first, retry = callback_mock.journal()
    assert first.answer_lost
    assert retry.idempotency_key == first.idempotency_key
    assert delivered.replayed
    assert len(callback_mock.exception(exception_id).callbacks) == 1


def test_a_503_is_retried_after_retry_after(callback_mock: CallbackMock, sync: TicketSync) -> None:
    """Two 503s with Retry-After: 2 are retried, each after at least two seconds, and the third attempt lands."""
    exception_id = callback_mock.create_exception("OPEN")
    callback_mock.faults.force_status(503, retry_after=2, times=2)

    delivered = sync.resolve(exception_id, "RECON-1235")

    callback_mock.assert_no_findings()
    assert [entry.status for entry in callback_mock.journal()] == [503, 503, 200]
    assert delivered.attempts == 3
    assert callback_mock.exception(exception_id).status == "RESOLVED"


@pytest.mark.callback_mock(rate_limit=1)
def test_the_rate_limit_is_waited_out(callback_mock: CallbackMock, sync: TicketSync) -> None:
    """With one callback a minute allowed, the second one waits for the next minute instead of failing."""
    first, second = (callback_mock.create_exception("OPEN") for _ in range(2))

    sync.resolve(first, "RECON-1")
    delivered = sync.resolve(second, "RECON-2")

    callback_mock.assert_no_findings()
    assert [entry.status for entry in callback_mock.journal()] == [200, 429, 200]
    assert delivered.attempts == 2


def test_a_forbidden_transition_is_not_retried(callback_mock: CallbackMock, sync: TicketSync) -> None:
    """A 409 for a transition the status forbids is final: the client reports it after one attempt."""
    exception_id = callback_mock.create_exception("RESOLVED")

    assignment = {"externalSystem": "JIRA", "externalIssueId": "RECON-9", "status": "ASSIGNED", "assignee": "ana"}

    with pytest.raises(CallbackFailed, match="MTCH-0507"):
        sync.send(exception_id, assignment)

    assert len(callback_mock.journal()) == 1
