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
