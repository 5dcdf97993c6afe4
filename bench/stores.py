"""Store files for the benchmarks: empty ones, ones with warm Wix id caches, and big ones (10^4 .. 10^6 events).

Big stores are generated quickly: the schema comes from the store itself (``Store.open`` migrates), then rows
of delivered events (each with its one delivery attempt) go in with ``executemany`` in large batches, in one
transaction, indexes included. They are cached under ``bench/.cache/`` and copied before each use.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import orjson
from payloads import SOURCE, TENANT, contact_id, email
from rig import CACHE, CUSTOMERS, api_key

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.store import Store
from inboxbridge.store.timestamps import to_micros

_BATCH = 50_000
_FAR_FUTURE = to_micros(datetime(2100, 1, 1, tzinfo=UTC))


async def _create(path: Path) -> None:
    store = await Store.open(f"sqlite:///{path}")
    try:
        await store.ledger.upsert_tenant(TENANT)
    finally:
        await store.close()


def new_store(path: Path) -> Path:
    """An empty store with the bench tenant registered."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    asyncio.run(_create(path))
    return path


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    return db


def create_conversations(sandbox_url: str, site: str) -> dict[int, str]:
    """Customer number → conversation id, each made by Get or Create Conversation on the sandbox directly."""
    headers = {"Authorization": api_key(site), "wix-site-id": site}
    conversations: dict[int, str] = {}
    with httpx2.Client(base_url=sandbox_url, headers=headers, timeout=30) as client:
        for n in range(CUSTOMERS):
            answer = client.post("/inbox/v2/conversations", json={"participantId": {"contactId": contact_id(site, n)}})
            answer.raise_for_status()
            conversations[n] = answer.json()["conversation"]["id"]
    return conversations


def warm_caches(path: Path, sandbox_url: str, site: str) -> None:
    """Put every customer's contact and conversation id in the store's caches, as a warmed-up service has them."""
    conversations = create_conversations(sandbox_url, site)
    db = _connect(path)
    try:
        db.execute("BEGIN")
        db.executemany(
            "INSERT OR REPLACE INTO contact_cache (tenant_id, customer_key, contact_ids, expires_at) VALUES (?,?,?,?)",
            [
                (TENANT, f"email:{email(n)}", orjson.dumps([contact_id(site, n)]).decode(), _FAR_FUTURE)
                for n in range(CUSTOMERS)
            ],
        )
        db.executemany(
            "INSERT OR REPLACE INTO conversation_cache (tenant_id, contact_id, conversation_id, expires_at) "
            "VALUES (?,?,?,?)",
            [(TENANT, contact_id(site, n), conversations[n], _FAR_FUTURE) for n in range(CUSTOMERS)],
        )
        db.execute("COMMIT")
    finally:
        db.close()


def _payload_template() -> str:
    event = InboundEvent(
        tenant=TENANT,
        source=SOURCE,
        kind=EventKind.MESSAGE,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        external_id="EXTERNAL-ID",
        emails=("customer-email@bench.example",),
        first_name="Customer",
        text="history #NUMBER Hello, I ordered the blue one last week and wanted to check when it ships. Thanks!",
        channel="Chat",
        raw={"id": "EXTERNAL-ID", "customer": {"email": "customer-email@bench.example"}, "text": "history #NUMBER"},
    )
    return event.to_json().decode()


def _history_rows(first: int, count: int, start: int) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    template = _payload_template()
    events: list[tuple[object, ...]] = []
    attempts: list[tuple[object, ...]] = []
    for number in range(first, first + count):
        customer = email(number % CUSTOMERS)
        external = f"history-{number}"
        at = start + number * 1000
        payload = template.replace("EXTERNAL-ID", external).replace("customer-email@bench.example", customer)
        payload = payload.replace("NUMBER", str(number))
        conversation = f"history-conversation-{number % CUSTOMERS}"
        message = f"{number:019d}"
        events.append(
            (
                number + 1,
                TENANT,
                SOURCE,
                f"id:{external}",
                f"{TENANT}/email:{customer}",
                f"email:{customer}",
                "message",
                at,
                at + 500,
                payload,
                "delivered",
                1,
                at + 500,
                "none",
                conversation,
                message,
                at + 900,
            )
        )
        attempts.append((number + 1, number + 1, at + 600, at + 900, "delivered", conversation, message))
    return events, attempts


def fill_history(path: Path, count: int) -> float:
    """Add ``count`` delivered events (and their attempts) to an empty store; returns the seconds it took."""
    started = time.perf_counter()
    start = to_micros(datetime(2025, 1, 1, tzinfo=UTC))
    db = _connect(path)
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        for first in range(0, count, _BATCH):
            events, attempts = _history_rows(first, min(_BATCH, count - first), start)
            db.executemany(
                "INSERT INTO events (id, tenant_id, source, idempotency_key, ordering_key, customer_key, kind, "
                "occurred_at, received_at, payload, status, attempts, next_attempt_at, send_state, "
                "conversation_id, wix_message_id, delivered_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                events,
            )
            db.executemany(
                "INSERT INTO attempts (id, event_id, started_at, finished_at, outcome, conversation_id, message_id) "
                "VALUES (?,?,?,?,?,?,?)",
                attempts,
            )
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return time.perf_counter() - started


def history_store(count: int) -> tuple[Path, float]:
    """The cached store with ``count`` delivered events (generated on first use); the seconds generation took
    (0 when it came from the cache)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"history-{count}.db"
    if path.exists():
        return path, 0.0
    partial = CACHE / f"history-{count}.partial.db"
    new_store(partial)
    seconds = fill_history(partial, count)
    partial.rename(path)
    return path, seconds
