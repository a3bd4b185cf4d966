"""The mock takes its idempotency behaviour from the spec's `x-idempotency` block, not from its own code."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

from callback_kit.contract import CALLBACK_PATH, default_spec_path
from callback_kit.mock_server.settings import Settings
from tests.mock_client import ACME, ACME_OPEN, Mock, assert_error, body


def spec_with(tmp_path: Path, **block: object) -> Path:
    """A copy of openapi.yaml whose x-idempotency block has the given fields changed."""
    spec = yaml.safe_load(default_spec_path().read_text(encoding="utf-8"))
    spec["paths"][CALLBACK_PATH]["post"]["x-idempotency"].update(block)
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_store_status_below_500_stores_and_replays_a_404(tmp_path: Path) -> None:
    """With storeStatusBelow 500, a 404 is stored: after the exception appears, the key still replays the 404."""
    with Mock(Settings(spec_path=spec_with(tmp_path, storeStatusBelow=500))) as mock:
        new_id, key = str(uuid.uuid4()), str(uuid.uuid4())
        first = mock.callback(new_id, body(), key=key)
        assert_error(first, 404, "MTCH-0501")
        mock.create("OPEN", tenant=ACME, id=new_id)
        again = mock.callback(new_id, body(), key=key)
        assert (again.status_code, again.headers["X-Idempotency-Replayed"]) == (404, "true")
        assert again.content == first.content


def test_the_default_block_does_not_store_a_404() -> None:
    """With the shipped block (storeStatusBelow 400), the same sequence processes the retried key."""
    with Mock() as mock:
        new_id, key = str(uuid.uuid4()), str(uuid.uuid4())
        assert mock.callback(new_id, body(), key=key).status_code == 404
        mock.create("OPEN", tenant=ACME, id=new_id)
        again = mock.callback(new_id, body(), key=key)
        assert (again.status_code, again.headers["X-Idempotency-Replayed"]) == (200, "false")


def test_reject_policy_answers_422_for_a_different_body(tmp_path: Path) -> None:
    """With onDifferentBody reject, the same key with another body is 422 MTCH-0019; the same body replays."""
    with Mock(Settings(spec_path=spec_with(tmp_path, onDifferentBody="reject"))) as mock:
        key = str(uuid.uuid4())
        assert mock.callback(ACME_OPEN, body("RESOLVED"), key=key).status_code == 200
        assert_error(mock.callback(ACME_OPEN, body("RESOLVED", resolutionNotes="other"), key=key), 422, "MTCH-0019")
        assert mock.callback(ACME_OPEN, body("RESOLVED"), key=key).headers["X-Idempotency-Replayed"] == "true"


def test_a_renamed_replay_header_is_what_the_mock_sends(tmp_path: Path) -> None:
    """The replay header's name comes from the block (with the 200 response declaring it)."""
    spec = yaml.safe_load(default_spec_path().read_text(encoding="utf-8"))
    operation = spec["paths"][CALLBACK_PATH]["post"]
    operation["x-idempotency"]["replayHeader"] = "X-Replayed"
    headers = operation["responses"]["200"]["headers"]
    headers["X-Replayed"] = headers.pop("X-Idempotency-Replayed")
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with Mock(Settings(spec_path=path)) as mock:
        key = str(uuid.uuid4())
        mock.callback(ACME_OPEN, body(), key=key)
        again = mock.callback(ACME_OPEN, body(), key=key)
        assert again.headers["X-Replayed"] == "true"
        assert "X-Idempotency-Replayed" not in again.headers


def test_a_shorter_in_flight_ttl_frees_a_stuck_key_sooner(tmp_path: Path) -> None:
    """inFlightTtlSeconds 10: a key left in flight is free again 11 seconds later on the mock's clock."""
    with Mock(Settings(spec_path=spec_with(tmp_path, inFlightTtlSeconds=10))) as mock:
        key = str(uuid.uuid4())
        store = mock.app.services["store"]  # type: ignore[attr-defined]
        scope_key = f'["{ACME}","acme-jira","POST","/v1/exceptions/{ACME_OPEN}/callback","{key}"]'
        now = mock.run(mock.app.services["clock"].now())  # type: ignore[attr-defined]
        mock.run(store.claim(scope_key, "crashed", now, 10))
        assert_error(mock.callback(ACME_OPEN, body(), key=key), 409, "MTCH-0018")
        mock.shift_clock(11)
        assert mock.callback(ACME_OPEN, body(), key=key).headers["X-Idempotency-Replayed"] == "false"


def test_disagreeing_key_headers_follow_the_first_header_under_precedence() -> None:
    """With the shipped `precedence`, two different keys are processed under the first header's key only."""
    with Mock() as mock:
        target = mock.create("OPEN")
        both = {"X-Idempotency-Key": "first-key", "Idempotency-Key": "second-key"}
        first = mock.callback(target, body("RESOLVED"), headers=both)
        assert (first.status_code, first.headers["X-Idempotency-Replayed"]) == (200, "false")
        again = mock.callback(target, body("RESOLVED"), headers={"X-Idempotency-Key": "first-key"})
        assert (again.headers["X-Idempotency-Replayed"], again.content) == ("true", first.content)
        alias = mock.callback(target, body("RESOLVED"), headers={"Idempotency-Key": "second-key"})
        assert (alias.status_code, alias.headers["X-Idempotency-Replayed"]) == (200, "false")


def test_disagreeing_key_headers_are_400_and_change_nothing_under_reject(tmp_path: Path) -> None:
    """With `onDisagreeingHeaders: reject`, two different keys are 400 `MTCH-0015` and apply nothing."""
    with Mock(Settings(spec_path=spec_with(tmp_path, onDisagreeingHeaders="reject"))) as mock:
        target = mock.create("OPEN")
        before = mock.exception(target)
        both = {"X-Idempotency-Key": "first-key", "Idempotency-Key": "second-key"}
        refused = mock.callback(target, body("RESOLVED"), headers=both)
        assert_error(refused, 400, "MTCH-0015")
        assert refused.json()["details"] == {
            "headers": ["X-Idempotency-Key", "Idempotency-Key"],
            "rule": "onDisagreeingHeaders: reject",
        }
        assert mock.exception(target) == before
        same = {"X-Idempotency-Key": "same-key", "Idempotency-Key": "same-key"}
        assert mock.callback(target, body("RESOLVED"), headers=same).status_code == 200
