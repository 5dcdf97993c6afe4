"""Group commit of ingests: concurrent callers share one transaction, and each is answered as if alone."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import attempt, make_event
from sqlalchemy import event

from inboxbridge.store import EventStatus, IngestResult, LeaseLost, SendState, Store, StoreUnavailable


@contextmanager
def counting_commits(store: Store) -> Iterator[list[int]]:
    """Counts the transactions the store commits while the block runs."""
    commits: list[int] = []

    def on_commit(_conn: Any) -> None:
        commits.append(1)

    event.listen(store.engine.sync_engine, "commit", on_commit)
    try:
        yield commits
    finally:
        event.remove(store.engine.sync_engine, "commit", on_commit)


async def test_concurrent_callers_share_one_commit_and_each_gets_its_own_results(store: Store) -> None:
    batches = [[make_event(f"c{i}@example.com", external_id=f"{i}-{j}", minute=j) for j in range(3)] for i in range(8)]
    with counting_commits(store) as commits:
        answers = await asyncio.gather(*(store.queue.ingest(batch) for batch in batches))
    assert len(commits) == 1
    ids = [result.event_id for answer in answers for result in answer]
    assert len(set(ids)) == 24
    assert all(not result.duplicate for answer in answers for result in answer)
    for batch, answer in zip(batches, answers, strict=True):
        for sent, result in zip(batch, answer, strict=True):
            row = await store.ledger.get_event(result.event_id)
            assert row is not None and row.event == sent
    assert (await store.ledger.counts())["pending"] == 24


async def test_a_repeat_across_callers_is_a_duplicate_of_the_first_callers_event(store: Store) -> None:
    first, second, third = await asyncio.gather(
        store.queue.ingest([make_event(external_id="same"), make_event(external_id="a")]),
        store.queue.ingest([make_event(external_id="b"), make_event(external_id="same", text="again")]),
        store.queue.ingest([make_event(external_id="same"), make_event(external_id="same")]),
    )
    assert [r.duplicate for r in first] == [False, False]
    assert second[0].duplicate is False
    assert second[1] == IngestResult(event_id=first[0].event_id, duplicate=True)
    assert third == [IngestResult(event_id=first[0].event_id, duplicate=True)] * 2
    row = await store.ledger.get_event(first[0].event_id)
    assert row is not None and row.event.text == "hello"
    assert (await store.ledger.counts())["pending"] == 3


async def test_a_repeat_of_an_event_stored_before_the_group_is_a_duplicate(store: Store) -> None:
    [stored] = await store.queue.ingest([make_event(external_id="old")])
    answers = await asyncio.gather(
        store.queue.ingest([make_event(external_id="old")]), store.queue.ingest([make_event(external_id="new")])
    )
    assert answers[0] == [IngestResult(event_id=stored.event_id, duplicate=True)]
    assert answers[1][0].duplicate is False


async def test_an_unknown_tenant_fails_only_its_own_caller_and_stores_none_of_its_batch(store: Store) -> None:
    with counting_commits(store) as commits:
        good, bad, other = await asyncio.gather(
            store.queue.ingest([make_event(external_id="1")]),
            store.queue.ingest([make_event(external_id="2"), make_event(tenant="ghost", external_id="3")]),
            store.queue.ingest([make_event("bob@example.com", tenant="beta", external_id="4")]),
            return_exceptions=True,
        )
    assert len(commits) == 1
    assert isinstance(bad, ValueError) and "ghost" in str(bad)
    assert isinstance(good, list) and isinstance(other, list)
    assert not good[0].duplicate and not other[0].duplicate
    stored = {row.event.external_id for row in await store.ledger.list_events()}
    assert stored == {"1", "4"}


async def test_heads_of_every_callers_keys_are_claimable_after_the_group(store: Store) -> None:
    await asyncio.gather(
        store.queue.ingest([make_event("ann@example.com", external_id="a1", minute=2)]),
        store.queue.ingest([make_event("ann@example.com", external_id="a0", minute=1)]),
        store.queue.ingest([make_event("bob@example.com", tenant="beta", external_id="b0")]),
    )
    claimed = await store.queue.claim("w1", 10, 60)
    assert sorted(c.event.external_id or "" for c in claimed) == ["a0", "b0"]


async def test_a_caller_whose_data_the_database_refuses_does_not_fail_the_others(postgres_url: str) -> None:
    store = await Store.open(postgres_url)
    try:
        await store.ledger.upsert_tenant("acme")
        # PostgreSQL refuses a source longer than its column (an event built without validation, as a bug
        # upstream might): the group's transaction fails, and the callers are run again one by one.
        too_long = make_event(external_id="2").model_copy(update={"source": "s" * 300})
        good, bad, other = await asyncio.gather(
            store.queue.ingest([make_event(external_id="1")]),
            store.queue.ingest([too_long]),
            store.queue.ingest([make_event("bob@example.com", external_id="3")]),
            return_exceptions=True,
        )
        assert isinstance(bad, StoreUnavailable)
        assert isinstance(good, list) and isinstance(other, list)
        assert {row.event.external_id for row in await store.ledger.list_events()} == {"1", "3"}
    finally:
        await store.close()


async def test_a_cancelled_caller_does_not_stop_the_others(store: Store) -> None:
    waiting = asyncio.ensure_future(store.queue.ingest([make_event(external_id="gone")]))
    kept = asyncio.ensure_future(store.queue.ingest([make_event(external_id="kept")]))
    waiting.cancel()
    [result] = await kept
    assert not result.duplicate
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert {row.event.external_id for row in await store.ledger.list_events()} == {"kept"}


async def test_an_unavailable_database_fails_every_caller_of_the_group(sqlite_url: str, tmp_path: Path) -> None:
    store = await Store.open(sqlite_url, busy_timeout=0.2)
    try:
        await store.ledger.upsert_tenant("acme")
        blocker = sqlite3.connect(tmp_path / "inboxbridge.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            answers = await asyncio.gather(
                *(store.queue.ingest([make_event(external_id=str(i))]) for i in range(4)), return_exceptions=True
            )
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert all(isinstance(answer, StoreUnavailable) for answer in answers)
        assert sum((await store.ledger.counts()).values()) == 0
    finally:
        await store.close()


async def test_concurrent_outcomes_share_one_commit_and_a_lost_lease_fails_alone(store: Store) -> None:
    await store.queue.ingest([make_event(f"c{i}@example.com", external_id=str(i)) for i in range(4)])
    claimed = await store.queue.claim("w1", 4, 60)
    assert len(claimed) == 4
    first, second, third, fourth = claimed
    with counting_commits(store) as commits:
        answers = await asyncio.gather(
            store.queue.ack(first.event_id, first.lease_token, attempt=attempt(), message_id="m1"),
            store.queue.ack(second.event_id, "not-the-token", attempt=attempt()),
            store.queue.dead_letter(third.event_id, third.lease_token, attempt=attempt("dead"), reason="gone"),
            store.queue.retry(
                fourth.event_id,
                fourth.lease_token,
                attempt=attempt("retry"),
                next_attempt_at=store.now(),
                error="503",
                send_state=SendState.UNKNOWN,
                conversation_id="conv",
            ),
            return_exceptions=True,
        )
    assert len(commits) == 1
    assert answers[0] is None and answers[2] is None and answers[3] is None
    assert isinstance(answers[1], LeaseLost)
    assert (await store.ledger.counts())["delivered"] == 1
    assert (await store.ledger.counts())["dead"] == 1
    lost = await store.ledger.get_event(second.event_id)
    assert lost is not None and lost.status is EventStatus.IN_FLIGHT
    assert await store.ledger.attempts(second.event_id) == []
    retried = await store.ledger.get_event(fourth.event_id)
    assert retried is not None and (retried.status, retried.conversation_id) == (EventStatus.PENDING, "conv")
