"""Three nodes on one PostgreSQL share each Wix site's rate limit: measured at the shop_sandbox, their calls together
stay within the bucket they are configured with."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inboxbridge.sandbox import SandboxServer

from .cluster import postgres_schema, start_nodes, stop_all
from .harness import Inbox, chat, site_id, stamp, wait_until
from .test_multinode import post_round_robin

pytestmark = pytest.mark.slow

RATE_PER_MINUTE = 1200
BURST = 5
EVENTS = 180
# Requests may reach the shop_sandbox closer together than their tokens were granted (a busy machine delays one
# process's sends and not another's): up to a burst's worth is jitter, more would be a leak in the limiter.
JITTER_REQUESTS = BURST


def test_nodes_together_stay_within_the_sites_rate(shop_sandbox: SandboxServer, tmp_path: Path) -> None:
    box = Inbox(shop_sandbox.url, site_id(0))
    bodies = [chat(f"r{i}", f"rate{i % 18}@example.com", f"m{i}", at=stamp(i)) for i in range(EVENTS)]
    with postgres_schema() as url:
        nodes = start_nodes(
            3, shop_sandbox.url, {"shop": {}}, url, tmp_path, requests_per_minute=RATE_PER_MINUTE, burst=BURST
        )
        try:
            assert set(asyncio.run(post_round_robin(nodes, bodies))) == {202}
            wait_until(lambda: len(box.all_messages()) >= EVENTS, what="every message", timeout=60)
        finally:
            stop_all(nodes)

    started = sorted(row["startedAt"] for row in box.requests())
    statuses = {row["status"] for row in box.requests()}
    rate = RATE_PER_MINUTE / 60
    span = started[-1] - started[0]
    # Over every stretch of the run, the calls must fit the bucket: BURST at once plus `rate` a second.
    excess = max(
        (j - i + 1) - (BURST + rate * (started[j] - started[i]))
        for i in range(len(started))
        for j in range(i, len(started))
    )
    busiest = max(sum(1 for t in started if s <= t < s + 1) for s in started)
    print(
        f"\nshared rate limit: 3 nodes, {len(started)} Wix calls to one site in {span:.1f} s = "
        f"{(len(started) - 1) / span:.1f} calls/s (limit {rate:.0f}/s, burst {BURST}); busiest second: {busiest} "
        f"calls; largest excess over the bucket in any stretch: {excess:.1f} calls"
    )
    assert 429 not in statuses
    # Without sharing, each of the three nodes would take the whole rate for itself.
    assert (len(started) - BURST - JITTER_REQUESTS) / span <= rate
    assert excess <= JITTER_REQUESTS
