"""A worker process for the multi-process claim test: claims and acknowledges until the queue is empty.

Usage: python claim_loop.py <database url> <worker id> <output json path>
Writes the claims it made as ``[event_id, ordering_key, held_from_ns, held_until_ns]`` entries.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from inboxbridge.store import AttemptRecord, Store


async def run(url: str, worker: str, output: Path) -> None:
    store = await Store.open(url, migrate=False, busy_timeout=10)
    claims: list[tuple[int, str, int, int]] = []
    try:
        while True:
            claimed = await store.queue.claim(worker, 3, 60)
            if not claimed:
                counts = await store.ledger.counts()
                if counts["pending"] + counts["in_flight"] == 0:
                    break
                await asyncio.sleep(0.002)
                continue
            held_from = time.monotonic_ns()
            for item in claimed:
                now = datetime.now(UTC)
                record = AttemptRecord(started_at=now, finished_at=now, outcome="delivered", detail=worker)
                held_until = time.monotonic_ns()
                await store.queue.ack(item.event_id, item.lease_token, attempt=record)
                claims.append((item.event_id, item.event.ordering_key, held_from, held_until))
    finally:
        await store.close()
    output.write_text(json.dumps(claims))


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
