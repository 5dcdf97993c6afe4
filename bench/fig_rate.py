"""Figures of Wix calls: calls per message, messages a minute under Wix's limit, share of a limit used."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from context import Context, Row
from measure import SEND_PATH, calls_in, open_loop, wait_stored
from rig import CUSTOMERS, ServiceSettings, start_baseline, start_service


def calls(ctx: Context) -> None:
    """Wix calls per message in a steady stream for 1,000 known customers (contacts exist; caches start cold)."""
    warm_count, steady_count = CUSTOMERS, int(ctx.size(1_000, 3_000))
    rate = 150.0
    site = ctx.new_site()
    service = start_service(ctx.workdir, ctx.sandbox, site, ctx.store(site, warm=False), ServiceSettings())
    try:
        warm = ctx.batch(warm_count)
        open_loop("hooks", service.url, rate, batch=warm.path, workdir=ctx.workdir, max_seconds=warm_count / rate + 60)
        wait_stored(ctx.sandbox, site, 0, warm_count, timeout=300, settle=15)
        first_pass = len(ctx.sandbox.requests(site))
        steady = ctx.batch(steady_count, first=warm_count)
        max_seconds = steady_count / rate + 60
        open_loop("hooks", service.url, rate, batch=steady.path, workdir=ctx.workdir, max_seconds=max_seconds)
        delivered = wait_stored(ctx.sandbox, site, warm_count, steady_count, timeout=300, settle=15)
        total = len(ctx.sandbox.requests(site))
    finally:
        service.stop()
    per_message = (total - first_pass) / max(1, len(delivered))
    naive_count = 300
    naive_site = ctx.new_site()
    naive = start_baseline(ctx.workdir, "naive", ctx.sandbox, naive_site)
    try:
        batch = ctx.batch(naive_count)
        open_loop("hooks", naive.url, 100, batch=batch.path, workdir=ctx.workdir)
        naive_stored = wait_stored(ctx.sandbox, naive_site, 0, naive_count, timeout=60, settle=5)
        naive_per_message = len(ctx.sandbox.requests(naive_site)) / max(1, len(naive_stored))
    finally:
        naive.stop()
    floor_site = ctx.new_site()
    spec = ctx.floor_spec(floor_site, 0, naive_count)
    ctx.sandbox.clear_requests()
    open_loop("floor", ctx.sandbox.url, 100, floor=spec, workdir=ctx.workdir)
    floor_stored = wait_stored(ctx.sandbox, floor_site, 0, naive_count, timeout=60, settle=5)
    floor_per_message = len(ctx.sandbox.requests(floor_site)) / max(1, len(floor_stored))
    ctx.rows.append(
        Row(
            "Wix calls per message, steady stream, 1,000 known customers",
            f"{per_message:.3f}",
            f"floor {floor_per_message:.2f}; naive {naive_per_message:.2f}",
            f"{per_message / floor_per_message:.3f}x floor, {per_message / naive_per_message:.0%} of naive",
            "<= 1.05",
            per_message <= 1.05,
            f"{len(delivered):,} messages after a first pass of one per customer, which cost "
            f"{first_pass / warm_count:.2f} calls each (Query Contacts + Get or Create Conversation + Send)",
        )
    )


@dataclass(frozen=True)
class Usage:
    """A site's calls within a measured window."""

    sends_ok: int
    calls_ok: int
    calls_429: int
    calls: int
    seconds: float


def _window(ctx: Context, site: str, per_minute: float, seconds: float, load: Callable[[], object]) -> Usage:
    """Limit ``site`` to ``per_minute``, empty its bucket, run ``load``; what the site saw in the window that
    starts once the load is under way."""
    ctx.sandbox.rate_limit(per_minute, site)
    ctx.sandbox.drain_bucket(site)
    # a well-behaved client's first burst (inboxbridge's 5) finds tokens, as it would on a quiet site
    time.sleep(5 * 60 / per_minute)
    started = time.time()
    load()
    window_start, window_end = started + min(5.0, seconds / 5), started + seconds
    rows = calls_in(ctx.sandbox.requests(site), window_start, window_end)
    return Usage(
        sends_ok=sum(1 for r in rows if r["path"] == SEND_PATH and r["status"] < 300),
        calls_ok=sum(1 for r in rows if r["status"] < 300),
        calls_429=sum(1 for r in rows if r["status"] == 429),
        calls=len(rows),
        seconds=window_end - window_start,
    )


def _limited(ctx: Context, per_minute: float, offered: float, seconds: float) -> dict[str, Usage]:
    """inboxbridge, naive and floor in turn, each on its own site limited to ``per_minute``, for ``seconds``
    with ``offered`` webhooks (floor: messages, paced at the limit) a second. One at a time: the sandbox's
    Query Contacts is CPU-heavy, and naive's would slow the others' calls down."""
    count = int(offered * seconds)
    batch = ctx.batch(count)
    usage: dict[str, Usage] = {}
    site = ctx.new_site()
    settings = ServiceSettings(requests_per_minute=per_minute)
    service = start_service(ctx.workdir, ctx.sandbox, site, ctx.store(site), settings)
    try:
        usage["inboxbridge"] = _window(
            ctx,
            site,
            per_minute,
            seconds,
            lambda: open_loop(
                "hooks", service.url, offered, batch=batch.path, workdir=ctx.workdir, max_seconds=seconds
            ),
        )
    finally:
        service.stop()
    site = ctx.new_site()
    naive = start_baseline(ctx.workdir, "naive", ctx.sandbox, site)
    try:
        usage["naive"] = _window(
            ctx,
            site,
            per_minute,
            seconds,
            lambda: open_loop("hooks", naive.url, offered, batch=batch.path, workdir=ctx.workdir, max_seconds=seconds),
        )
    finally:
        naive.stop()
    site = ctx.new_site()
    spec = ctx.floor_spec(site, 0, count)
    usage["floor"] = _window(
        ctx,
        site,
        per_minute,
        seconds,
        lambda: open_loop(
            "floor", ctx.sandbox.url, per_minute / 60, floor=spec, workdir=ctx.workdir, max_seconds=seconds
        ),
    )
    return usage


def per_minute(ctx: Context) -> None:
    """Messages delivered per minute to one site under Wix's 200 requests a minute."""
    seconds = ctx.size(30, 60)
    usage = _limited(ctx, 200, 4.0, seconds)

    def rate(u: Usage) -> float:
        return u.sends_ok / u.seconds * 60

    ours, naive, floor = rate(usage["inboxbridge"]), rate(usage["naive"]), rate(usage["floor"])
    ctx.rows.append(
        Row(
            "messages delivered per minute, one site at 200 requests/min",
            f"{ours:.0f}/min ({usage['inboxbridge'].calls_429} x 429)",
            f"floor {floor:.0f}/min; naive {naive:.0f}/min ({usage['naive'].calls_429} x 429)",
            f"{ours / floor:.0%} of floor, " + (f"{ours / naive:.1f}x naive" if naive else "naive delivered none"),
            ">= 190 (naive: about 66)",
            ours >= 190,
            f"window of {usage['floor'].seconds:.0f} s each, 240 webhooks/min offered, the site's bucket drained first",
        )
    )


def share(ctx: Context) -> None:
    """With the sandbox limiting a site to R requests/s: the share of R used and the 429s seen."""
    limit = 20.0
    seconds = ctx.size(15, 30)
    usage = _limited(ctx, limit * 60, limit * 1.5, seconds)

    def used(u: Usage) -> float:
        return u.calls_ok / u.seconds / limit

    def refused(u: Usage) -> float:
        return u.calls_429 / max(1, u.calls)

    ours, naive, floor = usage["inboxbridge"], usage["naive"], usage["floor"]
    ctx.rows.append(
        Row(
            f"share of a limit of R = {limit:.0f} requests/s used; 429s",
            f"{used(ours):.1%} of R, {refused(ours):.2%} 429",
            f"floor {used(floor):.1%}, {refused(floor):.2%} 429; naive {used(naive):.1%}, {refused(naive):.1%} 429",
            f"{used(ours) / used(floor):.0%} of floor",
            ">= 95% of R, < 1% 429",
            used(ours) >= 0.95 and refused(ours) < 0.01,
            f"{limit * 1.5:.0f} webhooks/s offered for {seconds:.0f} s; window of {ours.seconds:.0f} s",
        )
    )
