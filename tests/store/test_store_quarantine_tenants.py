"""Quarantined requests and tenants."""

from __future__ import annotations

import pytest
from conftest import START, ManualClock

from inboxbridge.store import Store, TenantStatus


async def test_quarantine_keeps_the_request_as_received(store: Store, clock: ManualClock) -> None:
    body = b"\x00\xffnot json"
    qid = await store.ledger.quarantine(
        tenant="acme",
        source="chat",
        reason="body is not JSON",
        method="POST",
        url="https://hooks.example/acme/chat",
        headers={"content-type": "text/plain"},
        body=body,
    )
    other = await store.ledger.quarantine(
        tenant="beta",
        source="sms",
        reason="missing field 'from'",
        method="POST",
        url="https://hooks.example/beta/sms",
        headers={},
        body=b"{}",
    )
    row = await store.ledger.get_quarantine(qid)
    assert row is not None
    assert (row.tenant, row.source, row.reason, row.method) == ("acme", "chat", "body is not JSON", "POST")
    assert (row.url, row.headers, row.body, row.received_at) == (
        "https://hooks.example/acme/chat",
        {"content-type": "text/plain"},
        body,
        clock.now,
    )
    assert [r.id for r in await store.ledger.list_quarantine()] == [other, qid]
    assert [r.id for r in await store.ledger.list_quarantine("acme")] == [qid]
    assert [r.id for r in await store.ledger.list_quarantine(limit=1, offset=1)] == [qid]
    assert await store.ledger.delete_quarantine(qid) is True
    assert await store.ledger.delete_quarantine(qid) is False
    assert await store.ledger.get_quarantine(qid) is None


async def test_tenant_upsert_keeps_creation_time(store: Store, clock: ManualClock) -> None:
    clock.advance(60)
    await store.ledger.upsert_tenant("acme", status="stopped", instance_id="inst-1")
    tenant = await store.ledger.get_tenant("acme")
    assert tenant is not None
    assert (tenant.status, tenant.instance_id) == (TenantStatus.STOPPED, "inst-1")
    assert (tenant.created_at, tenant.updated_at) == (START, clock.now)
    await store.queue.start_tenant("acme")
    assert [t.id for t in await store.ledger.list_tenants()] == ["acme", "beta"]
    assert await store.ledger.get_tenant("nobody") is None


async def test_unknown_tenant_or_status_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown tenant"):
        await store.queue.stop_tenant("nobody")
    with pytest.raises(ValueError, match="paused"):
        await store.ledger.upsert_tenant("acme", status="paused")


async def test_quarantine_keeps_one_row_per_distinct_body(store: Store, clock: ManualClock) -> None:
    """A provider retrying the same unreadable request counts hits on one row instead of adding rows."""

    async def keep(body: bytes, *, tenant: str = "acme", source: str = "chat", kind: str = "unreadable") -> int:
        return await store.ledger.quarantine(
            tenant=tenant,
            source=source,
            kind=kind,
            reason="body is not JSON",
            method="POST",
            url=f"https://hooks.example/{tenant}/{source}",
            headers={},
            body=body,
        )

    first = await keep(b"not json")
    first_seen = clock.now
    clock.advance(30)
    assert await keep(b"not json") == first
    clock.advance(30)
    assert await keep(b"not json") == first
    others = {
        await keep(b"other body"),
        await keep(b"not json", tenant="beta"),
        await keep(b"not json", source="sms"),
        await keep(b"not json", kind="refused"),
    }
    assert first not in others and len(others) == 4
    row = await store.ledger.get_quarantine(first)
    assert row is not None
    assert (row.kind, row.hits, row.received_at, row.last_seen_at) == ("unreadable", 3, first_seen, clock.now)
    assert len(await store.ledger.list_quarantine()) == 5
    with pytest.raises(ValueError, match="unknown quarantine kind"):
        await keep(b"x", kind="odd")


async def test_the_quarantine_is_bounded_per_source_and_pruned_by_age(store: Store, clock: ManualClock) -> None:
    """A sender filling a source's quarantine keeps only the newest rows of that source; rows not seen again for
    the retention age go; other sources keep theirs."""
    from datetime import timedelta

    async def keep(body: bytes, source: str = "chat") -> int:
        return await store.ledger.quarantine(
            tenant="acme", source=source, reason="bad", method="POST", url="https://h/x", headers={}, body=body
        )

    old = await keep(b"old", source="sms")
    clock.advance(40 * 86400)
    chat = [await keep(f"body {i}".encode()) for i in range(15)]
    clock.advance(1)
    assert await keep(b"body 0") == chat[0]  # seen again: now the newest of its source

    removed = await store.ledger.prune_quarantine(timedelta(days=30), per_source=10, batch_size=3)

    assert removed == 6  # five past the bound, one too old
    left = {row.id for row in await store.ledger.list_quarantine()}
    assert left == {chat[0], *chat[6:]}
    assert old not in left
