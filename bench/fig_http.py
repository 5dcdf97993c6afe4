"""Figures of webhooks in and messages out: durable ingestion, end-to-end latency, throughput against naive."""

from __future__ import annotations

import time

import wrkload
from context import Context, Row
from measure import open_loop, percentile, wait_stored
from payloads import Batch
from rig import Process, ServiceSettings, start_baseline, start_service, wait_until


def _fmt(value: float, unit: str = "") -> str:
    return (
        f"{value:,.0f}{unit}"
        if abs(value) >= 100
        else f"{value:,.2f}{unit}"
        if abs(value) < 10
        else f"{value:,.1f}{unit}"
    )


def ingest(ctx: Context) -> None:
    """Signed webhooks accepted per second, each committed before its answer, against the bare ASGI ceiling."""
    seconds = int(ctx.size(8, 20))
    load = ctx.batch(int(ctx.size(30_000, 100_000)))
    ceiling = start_baseline(ctx.workdir, "ceiling")
    try:
        top = wrkload.run(ceiling.url, load, max_seconds=seconds)
    finally:
        ceiling.stop()
    site = ctx.new_site()
    service = start_service(
        ctx.workdir, ctx.sandbox, site, ctx.store(site, warm=False), ServiceSettings(), command="http"
    )
    try:
        ours = wrkload.run(service.url, load, max_seconds=seconds)
    finally:
        service.stop()
    accepted = ours.count(202) / ours.seconds
    ceiling_rate = top.count(200) / top.seconds
    share = accepted / ceiling_rate
    ctx.rows.append(
        Row(
            "durable ingestion (webhooks/s, HTTP-only node)",
            f"{accepted:,.0f}/s (p50 {ours.p50_ms:.1f} ms, p99 {ours.p99_ms:.0f} ms)",
            f"ceiling {ceiling_rate:,.0f}/s",
            f"{share:.1%} of ceiling",
            ">= 40% of ceiling and >= 3,000/s",
            share >= 0.40 and accepted >= 3000,
            f"wrk -c32, {ours.count(202):,} accepted in {ours.seconds:.1f} s; non-202: "
            f"{sum(v for k, v in ours.statuses.items() if k != 202)}, errors {ours.errors}",
        )
    )


def latency(ctx: Context) -> None:
    """Webhook sent → message stored in the sandbox, at 200 events/s; naive at the same rate; the floor's
    Send Message answer time at the same rate. inboxbridge is also measured at 20 events/s, below its
    ingestion rate, to tell queueing from the cost of one event."""
    rate = 200.0
    count = int(rate * ctx.size(5, 15))
    batch = ctx.batch(count)

    def hooks(url: str, site: str, at: float, number: int) -> tuple[float, float, int]:
        load = open_loop("hooks", url, at, batch=batch.path, workdir=ctx.workdir, max_seconds=number / at + 30)
        stored = wait_stored(ctx.sandbox, site, 0, number, timeout=120, settle=10)
        delays = [(stored[n] - load.sent[n]) * 1000 for n in stored if load.sent[n]]
        return percentile(delays, 50), percentile(delays, 99), number - len(stored)

    site = ctx.new_site()
    service = start_service(ctx.workdir, ctx.sandbox, site, ctx.store(site), ServiceSettings())
    try:
        p50, p99, lost = hooks(service.url, site, rate, count)
    finally:
        service.stop()
    slow_count = int(ctx.size(100, 300))
    site = ctx.new_site()
    service = start_service(ctx.workdir, ctx.sandbox, site, ctx.store(site), ServiceSettings())
    try:
        s50, s99, _ = hooks(service.url, site, 20.0, slow_count)
    finally:
        service.stop()
    naive_site = ctx.new_site()
    naive = start_baseline(ctx.workdir, "naive", ctx.sandbox, naive_site)
    try:
        n50, n99, nlost = hooks(naive.url, naive_site, rate, count)
    finally:
        naive.stop()
    floor_site = ctx.new_site()
    spec = ctx.floor_spec(floor_site, 0, count)
    floor = open_loop("floor", ctx.sandbox.url, rate, floor=spec, workdir=ctx.workdir, max_seconds=count / rate + 30)
    answers = [(d - s) * 1000 for s, d, st in zip(floor.sent, floor.done, floor.status, strict=True) if st == 200]
    f50, f99 = percentile(answers, 50), percentile(answers, 99)
    ctx.rows.append(
        Row(
            "end-to-end latency at 200 events/s (p50 / p99)",
            f"{_fmt(p50)} / {_fmt(p99)} ms" + (f", {lost} not delivered" if lost else ""),
            f"naive {_fmt(n50)} / {_fmt(n99)} ms"
            + (f" ({nlost} not delivered)" if nlost else "")
            + f"; floor {_fmt(f50)} / {_fmt(f99)} ms",
            f"{p50 / f50:,.0f}x / {p99 / f99:,.0f}x floor",
            "<= 20 ms / <= 100 ms",
            p50 <= 20 and p99 <= 100 and not lost,
            f"{count} webhooks over {count / rate:.0f} s, open loop; latency = sandbox createdDate (ms) - send time; "
            f"at 20 events/s inboxbridge's is {_fmt(s50)} / {_fmt(s99)} ms",
        )
    )


def _e2e(ctx: Context, process: Process, site: str, batch: Batch, max_seconds: int) -> tuple[float, int, float]:
    """(messages stored per second from the first webhook sent, messages lost, webhooks answered per second).

    Lost: answered 2xx but never stored, or answered with an error (no store behind it to retry from).
    """
    started = time.time()
    answers = wrkload.run(process.url, batch, max_seconds=max_seconds)
    ok = answers.count(200, 202)
    stored = wait_stored(ctx.sandbox, site, batch.first, batch.count, timeout=600, settle=15, expect=ok)
    last = max(stored.values()) if stored else time.time()
    failed = sum(answers.statuses.values()) - ok
    # A server without a store may still finish requests wrk gave up waiting for: those count as stored.
    return (
        len(stored) / (last - started),
        max(0, ok - len(stored)) + failed,
        sum(answers.statuses.values()) / answers.seconds,
    )


def _split_service(ctx: Context, site: str) -> tuple[Process, Process]:
    """``serve --no-worker`` and ``worker`` as two processes on one store: the deployment for more than one core."""
    store, settings = ctx.store(site), ServiceSettings()
    http = start_service(ctx.workdir, ctx.sandbox, site, store, settings, command="http", name="split-http")
    worker = start_service(ctx.workdir, ctx.sandbox, site, store, settings, command="worker", name="split-worker")
    wait_until(lambda: b"worker started" in worker.log.read_bytes(), 60, "the worker process to start")
    return http, worker


def throughput(ctx: Context) -> None:
    """One batch of webhooks as fast as they come (wrk, 32 connections), instant sandbox, 1,000 known
    customers: inboxbridge's messages delivered per second, as one process and as an HTTP process beside a
    worker process, against naive's (same load) and the floor's."""
    count = int(ctx.size(1_000, 5_000))
    batch = ctx.batch(count)
    site = ctx.new_site()
    service = start_service(ctx.workdir, ctx.sandbox, site, ctx.store(site), ServiceSettings())
    try:
        ours, lost, accepted = _e2e(ctx, service, site, batch, 600)
    finally:
        service.stop()
    split_site = ctx.new_site()
    http, worker = _split_service(ctx, split_site)
    try:
        split, split_lost, split_accepted = _e2e(ctx, http, split_site, batch, 600)
    finally:
        http.stop()
        worker.stop()
    naive_site = ctx.new_site()
    naive = start_baseline(ctx.workdir, "naive", ctx.sandbox, naive_site)
    try:
        theirs, naive_lost, _ = _e2e(ctx, naive, naive_site, batch, int(ctx.size(20, 40)))
    finally:
        naive.stop()
    floor_site = ctx.new_site()
    spec = ctx.floor_spec(floor_site, 0, count)
    load = open_loop("floor", ctx.sandbox.url, 100_000, floor=spec, connections=16, workdir=ctx.workdir)
    floor_stored = wait_stored(ctx.sandbox, floor_site, 0, count, timeout=120, settle=5)
    floor_rate = len(floor_stored) / (max(floor_stored.values()) - load.started)
    best = max(ours, split)
    ours_text = f"one process {ours:,.0f}/s, {lost} lost; HTTP + worker processes {split:,.0f}/s, {split_lost} lost"
    ctx.rows.append(
        Row(
            "messages delivered/s end to end (instant sandbox, 1,000 known customers)",
            ours_text,
            f"floor {floor_rate:,.0f}/s; naive {theirs:,.0f}/s",
            f"{ours / floor_rate:.1%} / {split / floor_rate:.1%} of floor",
            ">= 1,000/s (n8n: ~50/s)",
            best >= 1000 and not (lost or split_lost),
            f"{count:,} webhooks by wrk -c32, answered at {accepted:,.0f}/s by one process and "
            f"{split_accepted:,.0f}/s by the HTTP process of two (`serve --no-worker` and `worker` on one SQLite "
            f"file); naive given the same batch for at most {ctx.size(20, 40):.0f} s",
        )
    )
    ctx.rows.append(
        Row(
            "throughput vs naive (same sandbox, same load)",
            ours_text,
            f"naive {theirs:,.0f}/s, {naive_lost} lost",
            f"{ours / theirs:.1f}x / {split / theirs:.1f}x naive",
            ">= 10x, 0 lost",
            best / theirs >= 10 and not (lost or split_lost),
        )
    )
