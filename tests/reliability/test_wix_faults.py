"""Wix faults suite: 30% 500/503/429 with latency spikes for the whole run, Retry-After, and a full outage.
Everything is delivered after recovery, backoff is honoured, nothing that could be delivered is dead-lettered."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from e2e.harness import site_id, start_sandbox, wait_until
from inboxbridge.sandbox import SandboxServer
from inboxbridge.worker import RetrySchedule

from .report import Figure, Figures
from .support import Stream, service_process, tally, wait_all_delivered

pytestmark = pytest.mark.slow

# Jitter keeps each delay between half and all of the nominal one; the store keeps times to the microsecond.
SLACK = 0.01


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(["shop"])
    yield server
    server.stop()


def set_faults(sandbox: SandboxServer, faults: dict[str, object]) -> None:
    assert httpx2.put(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=10).status_code == 200


def wix_requests(sandbox: SandboxServer) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = httpx2.get(f"{sandbox.url}/_sandbox/requests", timeout=30).json()["requests"]
    return rows


def dead_letters(database: Path) -> int:
    with sqlite3.connect(database) as db:
        count: int = db.execute("SELECT count(*) FROM events WHERE status = 'dead'").fetchone()[0]
    return count


def backoff_violations(database: Path, schedule: RetrySchedule) -> tuple[int, list[str]]:
    """Gaps between an event's failed try and its next try shorter than the schedule allows."""
    tries: dict[int, list[tuple[int, int]]] = defaultdict(list)
    with sqlite3.connect(database) as db:
        # Times are stored as integer microseconds since the epoch.
        rows = db.execute("SELECT event_id, started_at, finished_at FROM attempts ORDER BY id").fetchall()
    for event_id, started, finished in rows:
        tries[event_id].append((started, finished))
    gaps = 0
    bad = []
    for event_id, history in tries.items():
        for n, ((_, finished), (started, _)) in enumerate(itertools.pairwise(history), start=1):
            gaps += 1
            least = schedule.nominal(n) / 2 - SLACK
            waited = (started - finished) / 1e6
            if waited < least:
                bad.append(f"event {event_id} try {n + 1}: {waited:.3f}s < {least}s")
    return gaps, bad


def test_thirty_percent_errors_and_latency_spikes(
    sandbox: SandboxServer, tmp_path: Path, chaos_long: bool, figures: Figures
) -> None:
    set_faults(
        sandbox,
        {"errorRates": {"500": 0.1, "503": 0.1, "429": 0.1}, "latencyJitterMs": 400, "seed": 30},
    )
    service = service_process(sandbox.url, tmp_path, base_seconds=0.2, max_delay_seconds=1).start()
    stream = Stream(service.url, customers=10, limit=25 if chaos_long else 8).start()
    stream.wait()
    wait_all_delivered(tmp_path / "ib.db", stream.total, timeout=180)
    service.stop()
    requests = wix_requests(sandbox)
    faults = sum(1 for r in requests if r["status"] in (429, 500, 503))
    gaps, bad = backoff_violations(tmp_path / "ib.db", RetrySchedule(0.2, 1, 86400))
    dead = dead_letters(tmp_path / "ib.db")
    result = tally(sandbox.url, site_id(0), stream.by_customer)
    figures.record(
        Figure(
            "wix faults",
            "30% errors + latency spikes",
            "every Wix call: 10% 500, 10% 503, 10% 429, 0-400 ms extra latency, for the whole run",
            result.expected,
            f"{faults} of {len(requests)} Wix calls failed",
            result.lost,
            result.duplicated,
            result.out_of_order,
            0,
            f"{dead} dead letters; {gaps} retry gaps checked against the schedule, {len(bad)} too short",
        )
    )
    assert faults > 0 and dead == 0
    assert bad == []
    result.assert_clean()


def test_retry_after_is_honoured(sandbox: SandboxServer, tmp_path: Path, figures: Figures) -> None:
    set_faults(sandbox, {"errorRates": {"429": 0.5, "503": 0.5}, "retryAfter": 0.6})
    service = service_process(sandbox.url, tmp_path, base_seconds=0.05, max_delay_seconds=0.1).start()
    stream = Stream(service.url, customers=1, limit=1).start()
    stream.wait()
    wait_until(lambda: len(wix_requests(sandbox)) >= 8, what="eight refused Wix calls", timeout=30)
    set_faults(sandbox, {})
    wait_all_delivered(tmp_path / "ib.db", 1)
    service.stop()
    requests = wix_requests(sandbox)
    refused = [r for r in requests if r["status"] in (429, 503)]
    gaps = [float(b["startedAt"]) - float(a["endedAt"]) for a, b in itertools.pairwise(requests)]
    after_refusal = [g for r, g in zip(requests, gaps, strict=False) if r["status"] in (429, 503)]
    result = tally(sandbox.url, site_id(0), {"c0": ["c0 m0"]})
    figures.record(
        Figure(
            "wix faults",
            "Retry-After",
            "every Wix call refused (429 or 503) with `Retry-After: 0.6` until the faults are lifted",
            1,
            f"{len(refused)} refusals with Retry-After",
            result.lost,
            result.duplicated,
            result.out_of_order,
            0,
            f"shortest wait after a refusal {min(after_refusal):.2f} s (asked: 0.6 s)",
        )
    )
    assert min(after_refusal) >= 0.6 - SLACK, after_refusal
    result.assert_clean()


def test_full_outage_then_everything_delivered(
    sandbox: SandboxServer, tmp_path: Path, chaos_long: bool, figures: Figures
) -> None:
    # The five-minute outage scaled down to 6 s (20 s long), the 24-hour give-up to 60 s (first try after 0.2 s,
    # doubling up to 2 s): the schedule outlasts the outage, as the real one outlasts five minutes.
    outage = 20.0 if chaos_long else 6.0
    schedule = RetrySchedule(0.2, 2, 60)
    service = service_process(
        sandbox.url, tmp_path, base_seconds=0.2, max_delay_seconds=2, give_up_after_seconds=60
    ).start()
    set_faults(sandbox, {"errorRates": {"503": 1.0}})
    stream = Stream(service.url, customers=5, limit=6).start()
    stream.wait()
    time.sleep(outage)
    set_faults(sandbox, {})
    wait_all_delivered(tmp_path / "ib.db", stream.total, timeout=60)
    service.stop()
    dead = dead_letters(tmp_path / "ib.db")
    refused = sum(1 for r in wix_requests(sandbox) if r["status"] == 503)
    gaps, bad = backoff_violations(tmp_path / "ib.db", schedule)
    result = tally(sandbox.url, site_id(0), stream.by_customer)
    figures.record(
        Figure(
            "wix faults",
            f"full outage ({outage:g} s)",
            "every Wix call answered 503 (a 5-minute outage scaled down, with the retry schedule scaled down too)",
            result.expected,
            f"{refused} Wix calls refused",
            result.lost,
            result.duplicated,
            result.out_of_order,
            0,
            f"{dead} dead letters; {gaps} retry gaps checked, {len(bad)} too short",
        )
    )
    assert dead == 0
    assert bad == []
    result.assert_clean()
