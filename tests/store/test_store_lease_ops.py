"""What a lease holder records: delivery, retries, dead letters, release."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ManualClock, attempt, make_event

from inboxbridge.store import ClaimedEvent, EventStatus, LeaseLost, SendState, Store


async def _claim_one(store: Store) -> ClaimedEvent:
    await store.queue.ingest([make_event(external_id="1")])
    [claimed] = await store.queue.claim("w1", 1, 60)
    return claimed


async def test_a_claim_records_that_a_send_may_be_under_way(store: Store, clock: ManualClock) -> None:
    claimed = await _claim_one(store)
    assert claimed.send_state is SendState.NONE
    row = await store.ledger.get_event(claimed.event_id)
    assert row is not None
    assert (row.send_state, row.sending_started_at) == (SendState.UNKNOWN, clock.now)
    assert row.status is EventStatus.IN_FLIGHT


async def test_ack_records_delivery_and_the_attempt(store: Store, clock: ManualClock) -> None:
    claimed = await _claim_one(store)
    clock.advance(2)
    record = attempt(wix_status=200, wix_request_id="req-1", conversation_id="conv-1", message_id="msg-1")
    await store.queue.ack(
        claimed.event_id, claimed.lease_token, attempt=record, conversation_id="conv-1", message_id="msg-1"
    )
    row = await store.ledger.get_event(claimed.event_id)
    assert row is not None
    assert row.status is EventStatus.DELIVERED
    assert row.delivered_at == clock.now
    assert (row.conversation_id, row.wix_message_id, row.attempts) == ("conv-1", "msg-1", 1)
    assert (row.lease_owner, row.lease_token, row.lease_expires_at) == (None, None, None)
    [stored] = await store.ledger.attempts(claimed.event_id)
    assert (stored.outcome, stored.wix_status, stored.wix_request_id, stored.message_id) == (
        "delivered",
        200,
        "req-1",
        "msg-1",
    )
    assert stored.started_at == record.started_at and stored.finished_at == record.finished_at
    with pytest.raises(LeaseLost):
        await store.queue.ack(claimed.event_id, claimed.lease_token, attempt=record)
    assert len(await store.ledger.attempts(claimed.event_id)) == 1


@pytest.mark.parametrize("state", [SendState.NONE, SendState.UNKNOWN])
async def test_retry_schedules_the_next_try_with_the_send_state(
    store: Store, clock: ManualClock, state: SendState
) -> None:
    claimed = await _claim_one(store)
    later = clock.now + timedelta(minutes=5)
    await store.queue.retry(
        claimed.event_id,
        claimed.lease_token,
        attempt=attempt("retry", wix_status=503),
        next_attempt_at=later,
        error="503 from Wix",
        send_state=state,
        conversation_id="conv-1",
    )
    row = await store.ledger.get_event(claimed.event_id)
    assert row is not None
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == ("pending", 1, later, "503 from Wix")
    assert row.send_state is state
    assert row.sending_started_at == (clock.now if state is SendState.UNKNOWN else None)
    assert row.conversation_id == "conv-1"
    assert row.lease_token is None
    assert [a.outcome for a in await store.ledger.attempts(claimed.event_id)] == ["retry"]


async def test_dead_letter_keeps_the_reason(store: Store) -> None:
    claimed = await _claim_one(store)
    await store.queue.dead_letter(
        claimed.event_id,
        claimed.lease_token,
        attempt=attempt("dead", wix_status=400, wix_code="INVALID_ARGUMENT"),
        reason="400 INVALID_ARGUMENT: bad text",
    )
    row = await store.ledger.get_event(claimed.event_id)
    assert row is not None
    assert (row.status, row.last_error, row.attempts) == ("dead", "400 INVALID_ARGUMENT: bad text", 1)
    [stored] = await store.ledger.attempts(claimed.event_id)
    assert (stored.outcome, stored.wix_code) == ("dead", "INVALID_ARGUMENT")
    assert await store.queue.claim("w1", 10, 60) == []


async def test_release_hands_the_event_back_without_counting_a_try(store: Store, clock: ManualClock) -> None:
    claimed = await _claim_one(store)
    started = clock.now
    clock.advance(3)
    await store.queue.release(claimed.event_id, claimed.lease_token)
    row = await store.ledger.get_event(claimed.event_id)
    assert row is not None
    assert (row.status, row.attempts, row.next_attempt_at, row.lease_owner) == ("pending", 0, clock.now, None)
    assert await store.ledger.attempts(claimed.event_id) == []
    [again] = await store.queue.claim("w2", 10, 60)
    assert again.event_id == claimed.event_id
    assert (again.send_state, again.sending_started_at) == (SendState.UNKNOWN, started)
    with pytest.raises(LeaseLost):
        await store.queue.release(claimed.event_id, claimed.lease_token)


async def test_release_of_a_try_that_sent_nothing_needs_no_reconciliation(store: Store, clock: ManualClock) -> None:
    claimed = await _claim_one(store)
    await store.queue.release(claimed.event_id, claimed.lease_token, send_state=SendState.NONE)
    row = await store.ledger.get_event(claimed.event_id)
    assert row is not None
    assert (row.status, row.send_state, row.sending_started_at) == ("pending", SendState.NONE, None)
    [again] = await store.queue.claim("w2", 10, 60)
    assert (again.send_state, again.sending_started_at) == (SendState.NONE, None)


async def test_a_wrong_token_or_unknown_event_is_lease_lost(store: Store) -> None:
    claimed = await _claim_one(store)
    with pytest.raises(LeaseLost):
        await store.queue.ack(claimed.event_id, "not-the-token", attempt=attempt())
    with pytest.raises(LeaseLost):
        await store.queue.extend_lease(999_999, claimed.lease_token, 30)
