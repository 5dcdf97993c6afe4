"""Figures of a big store: memory with 1,000,000 events, and ingest and delivery cost as the store grows."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import wrkload
from context import Context, Row
from measure import wait_stored
from rig import Process, ServiceSettings, start_baseline, start_service
from stores import history_store

MILLION = 1_000_000


class PeakRss:
    """Samples a process's RSS every 100 ms while active; the highest value seen."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.rss_mb())
            self._stop.wait(0.1)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _rss(ctx: Context, history: Path | None) -> tuple[float, float]:
    """(idle RSS, peak RSS under a webhook load with the worker delivering) of a service on ``history``."""
    site = ctx.new_site()
    service = start_service(ctx.workdir, ctx.sandbox, site, ctx.store(site, history=history), ServiceSettings())
    try:
        time.sleep(3)
        idle = service.rss_mb()
        batch = ctx.batch(int(ctx.size(2_000, 5_000)))
        with PeakRss(service) as peak:
            wrkload.run(service.url, batch, max_seconds=int(ctx.size(10, 20)))
            wait_stored(ctx.sandbox, site, 0, batch.count, timeout=ctx.size(30, 60), settle=5)
        return idle, peak.peak
    finally:
        service.stop()


def rss(ctx: Context) -> None:
    """RSS of a service with 1,000,000 events in its store, idle and under load, beside an empty store's."""
    history, generated = history_store(MILLION)
    idle, busy = _rss(ctx, history)
    empty_idle, empty_busy = _rss(ctx, None)
    ceiling = start_baseline(ctx.workdir, "ceiling")
    try:
        bare = ceiling.rss_mb()
    finally:
        ceiling.stop()
    ctx.rows.append(
        Row(
            "RSS with 1,000,000 events in the store, idle / under load",
            f"{idle:.0f} / {busy:.0f} MiB",
            f"empty store {empty_idle:.0f} / {empty_busy:.0f} MiB; ceiling server {bare:.0f} MiB",
            f"{busy / empty_busy:.2f}x empty store",
            "< 200 MB (n8n: 665 MiB)",
            busy < 200 * 1e6 / 2**20,
            f"store {history.stat().st_size / 2**30:.2f} GiB"
            + (f", generated in {generated:.0f} s" if generated else ", from bench/.cache"),
        )
    )


def _costs(ctx: Context, size: int) -> tuple[float, float]:
    """(webhooks accepted per second by an HTTP-only node, events delivered per second by a worker) on a store
    holding ``size`` delivered events."""
    history, _ = history_store(size)
    site = ctx.new_site()
    store = ctx.store(site, history=history)
    http = start_service(ctx.workdir, ctx.sandbox, site, store, ServiceSettings(), command="http", name=f"http-{size}")
    try:
        batch = ctx.batch(int(ctx.size(5_000, 20_000)))
        answers = wrkload.run(http.url, batch, max_seconds=int(ctx.size(6, 15)))
    finally:
        http.stop()
    accepted = answers.count(202)
    worker = start_service(ctx.workdir, ctx.sandbox, site, store, ServiceSettings(), command="worker", name=f"w-{size}")
    try:
        stored = wait_stored(ctx.sandbox, site, 0, batch.count, timeout=ctx.size(60, 180), settle=10, expect=accepted)
    finally:
        worker.stop()
    # From the first message stored to the last: the process's start-up is not a cost per event.
    times = sorted(stored.values())
    delivered = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return accepted / answers.seconds, delivered


def growth(ctx: Context) -> None:
    """Ingest and delivery rates on stores of 10^4, 10^5 and 10^6 events; the ratio of the largest to the
    smallest."""
    sizes = (10_000, 100_000, MILLION)
    costs = {size: _costs(ctx, size) for size in sizes}
    small, large = costs[sizes[0]], costs[sizes[-1]]
    ingest_ratio, deliver_ratio = large[0] / small[0], large[1] / small[1]
    listed = "; ".join(f"10^{len(str(s)) - 1}: {c[0]:,.0f}/s in, {c[1]:,.0f}/s out" for s, c in costs.items())
    ctx.rows.append(
        Row(
            "ingest and delivery rate as the store grows 10^4 -> 10^6",
            f"ingest x{ingest_ratio:.2f}, delivery x{deliver_ratio:.2f}",
            listed,
            f"10^6 / 10^4: {ingest_ratio:.2f} / {deliver_ratio:.2f}",
            "flat (ratio ~1)",
            min(ingest_ratio, deliver_ratio) >= 0.9,
            "HTTP-only node for ingest (wrk -c32), then a worker process delivering what was accepted",
        )
    )
