"""Two processes claiming from one SQLite file never share an event or a customer's turn."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import make_event
from sqlalchemy import text

from inboxbridge.store import Store

WORKER = Path(__file__).with_name("claim_loop.py")


@pytest.mark.slow
async def test_two_processes_deliver_each_event_once_in_order(db_url: str, tmp_path: Path) -> None:
    # The workers use the real clock, so the events are stored with it too.
    store = await Store.open(db_url)
    try:
        await _run(store, db_url, tmp_path)
    finally:
        await store.close()


async def _run(store: Store, db_url: str, tmp_path: Path) -> None:
    await store.ledger.upsert_tenant("acme")
    await store.ledger.upsert_tenant("beta")
    rng = random.Random(7)
    minutes = list(range(300))
    rng.shuffle(minutes)
    batch = [
        make_event(f"c{m % 12}@example.com", tenant=("acme", "beta")[m % 2], external_id=str(m), minute=m)
        for m in minutes
    ]
    for start in range(0, len(batch), 50):
        await store.queue.ingest(batch[start : start + 50])

    outputs = [tmp_path / f"w{i}.json" for i in range(2)]
    workers = [
        subprocess.Popen([sys.executable, str(WORKER), db_url, f"w{i}", str(out)]) for i, out in enumerate(outputs)
    ]
    for worker in workers:
        assert worker.wait(timeout=60) == 0

    claims = [tuple(entry) for out in outputs for entry in json.loads(out.read_text())]
    claimed_ids = [entry[0] for entry in claims]
    assert len(claimed_ids) == len(set(claimed_ids)) == 300
    assert all(json.loads(out.read_text()) for out in outputs), "both processes should have claimed work"

    async with store.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT e.ordering_key, e.occurred_at, a.id, e.status FROM events e "
                    "JOIN attempts a ON a.event_id = e.id ORDER BY a.id"
                )
            )
        ).all()
    assert len(rows) == 300 and {row.status for row in rows} == {"delivered"}
    acked_per_key: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        acked_per_key[row.ordering_key].append(row.occurred_at)
    for key, occurred in acked_per_key.items():
        assert occurred == sorted(occurred), f"{key} delivered out of order"

    held: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for _, key, start, end in claims:
        held[key].append((start, end))
    for key, spans in held.items():
        spans.sort()
        for (_, first_end), (second_start, _) in itertools.pairwise(spans):
            assert first_end <= second_start, f"two events of {key} were held at once"
