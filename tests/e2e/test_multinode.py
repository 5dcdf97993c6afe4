"""Three nodes on one PostgreSQL, one of them killed mid-stream: every message lands once, in order, one at a
time per customer."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from pathlib import Path

import asyncpg
import httpx2
import pytest

from inboxbridge.sandbox import SandboxServer

from .cluster import postgres_schema, start_nodes, stop_all
from .harness import Inbox, ServiceProcess, chat, sign, site_id, stamp, texts, wait_until

pytestmark = pytest.mark.slow

CUSTOMERS = 100
PER_CUSTOMER = 30
# Wix calls a second for the site, shared by the three nodes: slow enough that the kill lands mid-stream.
RATE_PER_MINUTE = 12_000


async def post_round_robin(nodes: list[ServiceProcess], bodies: list[bytes]) -> list[int]:
    limit = asyncio.Semaphore(12)

    async def one(client: httpx2.AsyncClient, n: int, body: bytes) -> int:
        async with limit:
            for attempt in range(len(nodes) + 1):
                # As a load balancer does: a node that dropped the connection (killed, or closing an idle
                # keep-alive connection) is passed over for the next one; ingest is idempotent.
                node = nodes[(n + attempt) % len(nodes)]
                try:
                    answer = await client.post(
                        f"{node.url}/hooks/shop/chat",
                        content=body,
                        headers={"x-signature": sign(body), "content-type": "application/json"},
                    )
                except httpx2.TransportError:
                    continue
                return answer.status_code
            raise AssertionError(f"no node took webhook #{n}")

    async with httpx2.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*(one(client, n, body) for n, body in enumerate(bodies)))


async def delivered(url: str) -> int:
    schema = url.split("search_path=", 1)[1].split("&", 1)[0]
    connection = await asyncpg.connect(url.split("?", 1)[0])
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {schema}.events WHERE status = 'delivered'"))
    finally:
        await connection.close()


def test_three_nodes_one_killed_deliver_everything_once_in_order(shop_sandbox: SandboxServer, tmp_path: Path) -> None:
    emails = [f"multi{c}@example.com" for c in range(CUSTOMERS)]
    bodies = [
        chat(f"e{c}-{i}", emails[c], f"c{c} m{i}", at=stamp(i)) for i in range(PER_CUSTOMER) for c in range(CUSTOMERS)
    ]
    total = len(bodies)
    box = Inbox(shop_sandbox.url, site_id(0))
    with postgres_schema() as url:
        nodes = start_nodes(
            3,
            shop_sandbox.url,
            {"shop": {}},
            url,
            tmp_path,
            requests_per_minute=RATE_PER_MINUTE,
            lease_seconds=5,
            concurrency=12,
        )
        try:
            started = time.monotonic()
            answers: list[int] = []
            poster = threading.Thread(target=lambda: answers.extend(asyncio.run(post_round_robin(nodes, bodies))))
            poster.start()
            # The kill lands while webhooks are still arriving and the stream is being delivered.
            wait_until(lambda: len(box.all_messages()) >= total // 6, what="a sixth of the stream", timeout=90)
            nodes[1].kill()
            landed_at_kill = len(box.all_messages())
            poster.join(timeout=300)
            posted = time.monotonic()
            assert len(answers) == total
            assert set(answers) <= {200, 202}
            assert landed_at_kill < total, "the kill came too late to test anything"
            wait_until(lambda: len(box.all_messages()) >= total, what="the whole stream", timeout=120)
            wait_until(lambda: asyncio.run(delivered(url)) == total, what="every event acknowledged", timeout=30)
            finished = time.monotonic()
        finally:
            stop_all(nodes)

    messages = box.all_messages()
    by_customer: dict[str, list[str]] = defaultdict(list)
    for message in messages:
        customer, _, _ = texts(message).partition(" ")
        by_customer[customer].append(texts(message))
    print(
        f"\nmulti-node: {total} events over {CUSTOMERS} customers, 3 nodes on PostgreSQL, node 1 killed after "
        f"{landed_at_kill} had landed; posted in {posted - started:.1f} s, all delivered after "
        f"{finished - started:.1f} s ({total / (finished - started):.0f} events/s with a shared limit of "
        f"{RATE_PER_MINUTE / 60:.0f} Wix calls/s)"
    )
    assert len(messages) == total, "duplicates or losses"
    for c in range(CUSTOMERS):
        assert by_customer[f"c{c}"] == [f"c{c} m{i}" for i in range(PER_CUSTOMER)], f"customer {c} out of order"
    overlaps = httpx2.get(f"{shop_sandbox.url}/_sandbox/overlaps").json()["overlaps"]
    assert overlaps == [], "two sends into one conversation were in flight at once"
