"""Operator actions and reading: replay, drop, park, counts, backlog age, listing, pruning."""

from __future__ import annotations

from datetime import timedelta

from conftest import START, ManualClock, attempt, make_event

from inboxbridge.store import EventStatus, SendState, Store, TenantStatus


async def _dead(store: Store, n: int, prefix: str = "d", tenant: str = "acme", source: str = "chat") -> list[int]:
    results = await store.queue.ingest(
        [
            make_event(f"{prefix}{i}@example.com", tenant=tenant, source=source, external_id=f"{prefix}{i}")
            for i in range(n)
        ]
    )
    for claimed in await store.queue.claim("w1", n, 60):
        await store.queue.dead_letter(claimed.event_id, claimed.lease_token, attempt=attempt("dead"), reason="400")
    return [r.event_id for r in results]


async def test_replay_restarts_dead_events_and_keeps_their_history(store: Store, clock: ManualClock) -> None:
    dead = await _dead(store, 2)
    [pending] = await store.queue.ingest([make_event(external_id="p")])
    clock.advance(10)
    assert await store.queue.replay([dead[0], pending.event_id, 424242]) == 1
    row = await store.ledger.get_event(dead[0])
    assert row is not None
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, clock.now)
    assert len(await store.ledger.attempts(dead[0])) == 1
    assert {c.event_id for c in await store.queue.claim("w1", 10, 60)} == {dead[0], pending.event_id}
    assert await store.queue.replay([]) == 0


async def test_replay_dead_by_tenant_and_source(store: Store) -> None:
    await _dead(store, 2)
    await _dead(store, 1, prefix="s", source="sms")
    await _dead(store, 3, tenant="beta")
    assert await store.queue.replay_dead(tenant="acme", source="sms") == 1
    assert await store.queue.replay_dead(tenant="acme") == 2
    assert (await store.ledger.counts("beta"))["dead"] == 3
    assert await store.queue.replay_dead() == 3
    assert (await store.ledger.counts())["dead"] == 0
    assert len(await store.queue.claim("w1", 20, 60)) == 6


async def test_drop_dead_deletes_only_dead_events_and_their_attempts(store: Store) -> None:
    dead = await _dead(store, 2)
    [pending] = await store.queue.ingest([make_event(external_id="p")])
    assert await store.ledger.drop_dead([*dead, pending.event_id]) == 2
    assert await store.ledger.get_event(dead[0]) is None
    assert await store.ledger.attempts(dead[0]) == []
    assert await store.ledger.get_event(pending.event_id) is not None


async def test_stop_and_start_a_tenant(store: Store) -> None:
    await store.queue.ingest([make_event(f"c{i}@example.com", external_id=str(i)) for i in range(3)])
    [other] = await store.queue.ingest([make_event(tenant="beta", external_id="b")])
    assert await store.queue.stop_tenant("acme") == 3
    assert (await store.ledger.counts("acme"))["parked"] == 3
    tenant = await store.ledger.get_tenant("acme")
    assert tenant is not None and tenant.status is TenantStatus.STOPPED
    # What arrives for a stopped tenant is stored parked, in the ingest's own transaction.
    [late] = await store.queue.ingest([make_event("late@example.com", external_id="late")])
    assert late.parked and not late.duplicate
    assert (await store.ledger.counts("acme"))["parked"] == 4
    assert [c.event_id for c in await store.queue.claim("w1", 10, 60)] == [other.event_id]
    assert await store.queue.start_tenant("acme") == 4
    assert len(await store.queue.claim("w1", 10, 60)) == 4


async def test_counts_include_every_status(store: Store) -> None:
    assert await store.ledger.counts() == {"pending": 0, "in_flight": 0, "delivered": 0, "dead": 0, "parked": 0}
    await _dead(store, 1)
    await store.queue.ingest([make_event(f"c{i}@example.com", external_id=str(i)) for i in range(3)])
    [claimed, *_] = await store.queue.claim("w1", 2, 60)
    await store.queue.ack(claimed.event_id, claimed.lease_token, attempt=attempt())
    await store.queue.ingest([make_event(tenant="beta", external_id="b")])
    assert await store.ledger.counts() == {"pending": 2, "in_flight": 1, "delivered": 1, "dead": 1, "parked": 0}
    assert await store.ledger.counts("beta") == {"pending": 1, "in_flight": 0, "delivered": 0, "dead": 0, "parked": 0}


async def test_oldest_pending_age(store: Store, clock: ManualClock) -> None:
    assert await store.ledger.oldest_pending_age() is None
    await store.queue.ingest([make_event(external_id="1")])
    clock.advance(20)
    await store.queue.ingest([make_event(tenant="beta", external_id="2")])
    clock.advance(10)
    await store.queue.claim("w1", 1, 60)
    assert await store.ledger.oldest_pending_age() == 30.0
    assert await store.ledger.oldest_pending_age("acme") == 30.0
    assert await store.ledger.oldest_pending_age("beta") == 10.0
    for claimed in await store.queue.claim("w1", 10, 600):
        await store.queue.ack(claimed.event_id, claimed.lease_token, attempt=attempt())
    assert await store.ledger.oldest_pending_age("beta") is None


async def test_counts_and_backlog_ages_of_every_tenant_in_one_read(store: Store, clock: ManualClock) -> None:
    """What /metrics reads per scrape: the same figures as the per-tenant reads, for every tenant at once."""
    assert await store.ledger.counts_by_tenant() == {}
    assert await store.ledger.oldest_pending_ages() == {}
    await _dead(store, 1)
    await store.queue.ingest([make_event(f"c{i}@example.com", external_id=str(i)) for i in range(3)])
    clock.advance(20)
    await store.queue.ingest([make_event(tenant="beta", external_id="b")])
    clock.advance(10)
    [claimed] = await store.queue.claim("w1", 1, 60)
    await store.queue.ack(claimed.event_id, claimed.lease_token, attempt=attempt())
    by_tenant = await store.ledger.counts_by_tenant()
    assert by_tenant == {"acme": await store.ledger.counts("acme"), "beta": await store.ledger.counts("beta")}
    assert by_tenant["acme"] == {"pending": 2, "in_flight": 0, "delivered": 1, "dead": 1, "parked": 0}
    ages = await store.ledger.oldest_pending_ages()
    assert ages == {"acme": await store.ledger.oldest_pending_age("acme"), "beta": 10.0}
    assert ages["acme"] == 30.0


async def test_list_events_filters_newest_first(store: Store) -> None:
    results = await store.queue.ingest(
        [
            make_event("Ann@Example.com", external_id="1", minute=1),
            make_event("bob@example.com", external_id="2", minute=2, source="sms"),
            make_event("ann@example.com", external_id="3", minute=3),
            make_event("carl@elsewhere.org", tenant="beta", external_id="4", minute=4),
        ]
    )
    ids = [r.event_id for r in results]
    assert [e.id for e in await store.ledger.list_events()] == ids[::-1]
    assert [e.id for e in await store.ledger.list_events(tenant="acme")] == ids[2::-1]
    assert [e.id for e in await store.ledger.list_events(email="ANN@")] == [ids[2], ids[0]]
    assert [e.id for e in await store.ledger.list_events(email="example.com", source="sms")] == [ids[1]]
    assert [e.id for e in await store.ledger.list_events(email="%")] == []
    after = START + timedelta(minutes=2)
    assert [e.id for e in await store.ledger.list_events(occurred_after=after)] == [ids[3], ids[2], ids[1]]
    assert [e.id for e in await store.ledger.list_events(occurred_before=after)] == [ids[0]]
    assert [e.id for e in await store.ledger.list_events(limit=2, offset=1)] == [ids[2], ids[1]]
    [claimed] = await store.queue.claim("w1", 1, 60)
    in_flight = await store.ledger.list_events(status=EventStatus.IN_FLIGHT)
    assert [e.id for e in in_flight] == [claimed.event_id]
    assert in_flight[0].event == claimed.event


async def test_prune_removes_old_deliveries_and_expired_cache_rows(store: Store, clock: ManualClock) -> None:
    await store.queue.ingest([make_event(f"c{i}@example.com", external_id=str(i)) for i in range(5)])
    for claimed in await store.queue.claim("w1", 5, 60):
        await store.queue.ack(claimed.event_id, claimed.lease_token, attempt=attempt())
    await store.ids.put_cached_contacts("acme", "email:c0@example.com", ["ct-1"], ttl_seconds=60)
    await store.ids.put_cached_conversation("acme", "ct-1", "conv-1", ttl_seconds=60)
    await store.ids.put_cached_conversation("acme", "ct-2", "conv-2", ttl_seconds=86400)
    clock.advance(3600)
    [recent] = await store.queue.ingest([make_event("new@example.com", external_id="new")])
    [claimed] = await store.queue.claim("w1", 1, 60)
    await store.queue.ack(claimed.event_id, claimed.lease_token, attempt=attempt())
    [waiting] = await store.queue.ingest([make_event("wait@example.com", external_id="wait")])
    removed = await store.ledger.prune(timedelta(minutes=30), batch_size=2)
    assert removed == {"events": 5, "attempts": 5, "contact_cache": 1, "conversation_cache": 1}
    remaining = {e.id for e in await store.ledger.list_events()}
    assert remaining == {recent.event_id, waiting.event_id}
    assert await store.ids.get_cached_conversation("acme", "ct-2") == "conv-2"
    assert await store.ledger.prune(timedelta(minutes=30)) == {
        "events": 0,
        "attempts": 0,
        "contact_cache": 0,
        "conversation_cache": 0,
    }


async def test_retry_state_survives_a_listing_round_trip(store: Store, clock: ManualClock) -> None:
    await store.queue.ingest([make_event(external_id="1")])
    [claimed] = await store.queue.claim("w1", 1, 60)
    await store.queue.retry(
        claimed.event_id,
        claimed.lease_token,
        attempt=attempt("retry"),
        next_attempt_at=clock.now + timedelta(seconds=5),
        error="timeout",
        send_state=SendState.UNKNOWN,
    )
    [row] = await store.ledger.list_events(status="pending")
    assert (row.send_state, row.last_error) == (SendState.UNKNOWN, "timeout")
