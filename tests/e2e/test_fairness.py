"""Fairness across tenants: a site with a backlog of 100,000 events does not hold up another site's fresh event.

The backlog is written straight into the events table (as 100,000 webhooks would have left it) so that the test
spends its time on delivery, not on posting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.sandbox import SandboxServer
from inboxbridge.store import Store
from inboxbridge.store.sql.heads import refresh_keys
from inboxbridge.store.timestamps import to_micros

from .cluster import postgres_schema, start_nodes, stop_all
from .harness import Inbox, chat, site_id, stamp, start_sandbox, wait_until

pytestmark = pytest.mark.slow

BACKLOG = 100_000
CUSTOMERS = 200
# Wix calls a second per site: the backlog's site is busy for hours at this pace.
RATE_PER_MINUTE = 600
TENANTS: dict[str, dict[str, object]] = {"bulk": {}, "fresh": {}}

_BACKLOG_SQL = """
INSERT INTO events (tenant_id, source, idempotency_key, ordering_key, customer_key, kind, occurred_at, received_at,
                    payload, status, attempts, next_attempt_at, send_state)
SELECT 'bulk', 'chat', 'backlog-' || n, replace(:key, 'CUSTOMER', (n % :customers)::text),
       replace(:customer_key, 'CUSTOMER', (n % :customers)::text), 'message',
       CAST(:occurred AS bigint) + n, CAST(:now AS bigint),
       replace(:payload, 'CUSTOMER', (n % :customers)::text), 'pending', 0, CAST(:now AS bigint), 'none'
FROM generate_series(1, :count) AS n
"""


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(list(TENANTS))
    yield server
    server.stop()


async def fill_backlog(url: str) -> None:
    template = InboundEvent(
        tenant="bulk",
        source="chat",
        kind=EventKind.MESSAGE,
        occurred_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
        emails=("backlogCUSTOMER@example.com",),
        text="from the backlog",
    )
    customer_key = template.customer_key.replace("backlogcustomer", "backlogCUSTOMER")
    store = await Store.open(url, migrate=False)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(
                text(_BACKLOG_SQL),
                {
                    "key": f"bulk/{customer_key}",
                    "customer_key": customer_key,
                    "customers": CUSTOMERS,
                    "occurred": to_micros(template.occurred_at),
                    "now": to_micros(datetime.now(UTC)),
                    "payload": template.to_json().decode(),
                    "count": BACKLOG,
                },
            )
            keys = [f"bulk/{customer_key.replace('CUSTOMER', str(c))}" for c in range(CUSTOMERS)]
            await refresh_keys(conn, keys)
    finally:
        await store.close()


async def undelivered(url: str, tenant: str) -> int:
    store = await Store.open(url, migrate=False)
    try:
        counts = await store.ledger.counts(tenant)
    finally:
        await store.close()
    return counts["pending"] + counts["in_flight"]


def test_a_fresh_event_is_not_held_up_by_another_sites_backlog(sandbox: SandboxServer, tmp_path: Path) -> None:
    fresh_box = Inbox(sandbox.url, site_id(1))
    bulk_box = Inbox(sandbox.url, site_id(0))
    with postgres_schema() as url:
        nodes = start_nodes(2, sandbox.url, TENANTS, url, tmp_path, requests_per_minute=RATE_PER_MINUTE)
        try:
            asyncio.run(fill_backlog(url))
            wait_until(lambda: len(bulk_box.all_messages()) >= 20, what="the backlog to be under way")
            posted = time.monotonic()
            answer = nodes[0].post("fresh", "chat", chat("fresh-1", "new@example.com", "hello there", at=stamp(0)))
            assert answer.status_code == 202
            wait_until(lambda: len(fresh_box.all_messages()) == 1, what="the fresh event", timeout=60)
            latency = time.monotonic() - posted
            backlog_left = asyncio.run(undelivered(url, "bulk"))
        finally:
            stop_all(nodes)
    print(
        f"\nfairness: a fresh event of one site delivered {latency:.2f} s after its webhook while another site had "
        f"{backlog_left:,} of a {BACKLOG:,}-event backlog undelivered (2 nodes, {RATE_PER_MINUTE / 60:.0f} Wix "
        "calls/s per site)"
    )
    assert backlog_left > BACKLOG - 5_000, "the backlog should still be there when the fresh event lands"
