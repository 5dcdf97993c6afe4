"""A SQLite store's change watch: how a worker process learns that another process stored events."""

from __future__ import annotations

from pathlib import Path

from conftest import make_event

from inboxbridge.store import Store


async def test_a_watch_sees_every_commit_and_nothing_else(store: Store) -> None:
    watch = store.watch_changes()
    if store.backend == "postgresql":
        # No change counter there: workers poll.
        assert watch is None
        return
    assert watch is not None
    try:
        assert not watch.changed()
        await store.queue.ingest([make_event(external_id="1")])
        assert watch.changed()
        assert not watch.changed()
        await store.ledger.counts()
        await store.queue.claim("w1", 10, 60)
        assert watch.changed()
        assert await store.queue.claim("w1", 10, 60) == []
        assert not watch.changed()
    finally:
        watch.close()


async def test_a_watch_that_cannot_read_the_counter_sends_the_worker_to_the_store(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'inboxbridge.db'}")
    try:
        watch = store.watch_changes()
        assert watch is not None
        watch.close()
        # Unreadable (here: closed) is reported as a change: the worker then claims, and the store answers.
        assert watch.changed()
    finally:
        await store.close()
