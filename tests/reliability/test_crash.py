"""Crash suite: the service killed with SIGKILL at seeded random moments under a steady stream, and a Wix that
stores a message but answers after the client gave up. Nothing lost, nothing twice, order kept per customer."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from e2e.harness import site_id, start_sandbox
from inboxbridge.sandbox import SandboxServer

from .report import Figure, Figures
from .support import Stream, service_process, tally, wait_all_delivered

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(["shop"])
    yield server
    server.stop()


def test_twenty_sigkills_under_a_steady_stream(
    sandbox: SandboxServer, tmp_path: Path, chaos_long: bool, figures: Figures
) -> None:
    kills = 20 if chaos_long else 8
    rng = random.Random(20261126)
    # Short leases: a killed process's deliveries are taken over two seconds after the restart.
    service = service_process(sandbox.url, tmp_path, lease_seconds=2).start()
    stream = Stream(service.url, customers=12 if chaos_long else 8).start()
    for _ in range(kills):
        time.sleep(rng.uniform(0.2, 1.5))
        service.kill()
        time.sleep(rng.uniform(0.0, 0.3))
        service.start()
    time.sleep(1)
    stream.stop()
    wait_all_delivered(tmp_path / "ib.db", stream.total)
    service.stop()
    accepted = stream.by_customer
    result = tally(sandbox.url, site_id(0), accepted)
    server_errors = sum(n for status, n in stream.statuses.items() if status >= 500)
    figures.record(
        Figure(
            "crash",
            f"SIGKILL x {kills}",
            "`kill -9` of the service at seeded random moments (0.2-1.5 s apart) under a steady stream of webhooks",
            result.expected,
            f"{kills} SIGKILLs ({stream.broken} webhook posts refused while down, retried)",
            result.lost,
            result.duplicated,
            result.out_of_order,
            server_errors,
            f"{result.overlaps} concurrent sends into one conversation",
        )
    )
    result.assert_clean()
    assert server_errors == 0, stream.statuses


def test_sends_that_time_out_after_wix_stored_them_land_once(
    sandbox: SandboxServer, tmp_path: Path, chaos_long: bool, figures: Figures
) -> None:
    # The client gives up after 0.4 s; the sandbox stores the message and answers after 0.8 s, so Wix is still
    # handling the send when the client has given up. Backoff alone (base 0.05 s) would try again while it is:
    # the settle time (1 s after the timeout) is what keeps the next look and the next send after it.
    service = service_process(sandbox.url, tmp_path, timeout=0.4, base_seconds=0.05, settle_seconds=1).start()
    faults = {
        "slowThenSucceed": {"probability": 0.3, "delayMs": 800},
        "pathPrefix": "/inbox/v2/messages",
        "seed": 7,
    }
    assert httpx2.put(f"{sandbox.url}/_sandbox/faults", json=faults, timeout=10).status_code == 200
    per_customer = 15 if chaos_long else 6
    stream = Stream(service.url, customers=6, limit=per_customer).start()
    stream.wait()
    wait_all_delivered(tmp_path / "ib.db", stream.total)
    service.stop()
    slow = httpx2.get(
        f"{sandbox.url}/_sandbox/requests", params={"pathPrefix": "/inbox/v2/messages"}, timeout=10
    ).json()["requests"]
    timed_out = sum(1 for r in slow if r["method"] == "POST" and r["endedAt"] - r["startedAt"] >= 0.8)
    with sqlite3.connect(tmp_path / "ib.db") as db:
        found = db.execute("SELECT count(*) FROM attempts WHERE outcome = 'already_delivered'").fetchone()[0]
    accepted = stream.by_customer
    result = tally(sandbox.url, site_id(0), accepted)
    figures.record(
        Figure(
            "crash",
            "slow Wix (slowThenSucceed)",
            "30% of Send Message calls stored by the sandbox but answered after the client's timeout",
            result.expected,
            f"{timed_out} sends timed out after Wix stored them",
            result.lost,
            result.duplicated,
            result.out_of_order,
            0,
            f"{found} found by reconciliation instead of posted again; {result.overlaps} overlapping sends",
        )
    )
    assert timed_out > 0 and found == timed_out
    result.assert_clean()
