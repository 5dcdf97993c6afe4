"""The hot paths are served by indexes: no statement they run scans a table that grows with the backlog.

SQLite's plans are read as they are. PostgreSQL plans small tables with sequential scans whatever the indexes,
so its plans are made with sequential scans priced out (``enable_seqscan = off``): one that remains means no
index can serve the statement.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conftest import ManualClock, attempt, make_event
from sqlalchemy import event

from inboxbridge.store import SendState, Store

# Whole-table steps that stay cheap: the tenants table, and the key list a rebuild just materialized
# (literal VALUES lists, "SCAN n CONSTANT ROWS", are fine too).
ALLOWED_SCANS = {"SCAN tenants", "SCAN keys"}
# The key locks (PostgreSQL) scan only the literal array they are given.
LOCK_STATEMENTS = ("SELECT count(pg_advisory_xact_lock", "SELECT key FROM unnest")


async def test_delivery_paths_use_indexes(store: Store, clock: ManualClock) -> None:
    for tenant in ("acme", "beta"):
        await store.queue.ingest(
            [
                make_event(f"c{i % 300}@example.com", tenant=tenant, external_id=str(i), minute=i % 50)
                for i in range(1500)
            ]
        )
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not statement.startswith(("BEGIN", "PRAGMA", *LOCK_STATEMENTS)):
            # An executemany's parameters are a list of rows; a multi-row INSERT sent for one ("insertmanyvalues")
            # comes flagged many with the flat tuple of its statement.
            statements.append((statement, parameters[0] if many and isinstance(parameters, list) else parameters))

    event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await store.queue.ingest([make_event("new@example.com", external_id="new"), make_event(external_id="0")])
        await store.queue.ingest([make_event(external_id=str(i)) for i in range(5)])
        claimed = await store.queue.claim("w1", 10, 60)
        first, second, third, fourth, *_ = claimed
        await store.queue.extend_lease(first.event_id, first.lease_token, 60)
        await store.queue.ack(first.event_id, first.lease_token, attempt=attempt())
        await store.queue.retry(
            second.event_id,
            second.lease_token,
            attempt=attempt("retry"),
            next_attempt_at=clock.now,
            error="x",
            send_state=SendState.NONE,
        )
        await store.queue.dead_letter(third.event_id, third.lease_token, attempt=attempt("dead"), reason="x")
        await store.queue.release(fourth.event_id, fourth.lease_token)
        await store.queue.replay([third.event_id])
        await store.ledger.oldest_pending_age()
        await store.ledger.oldest_pending_age("acme")
        await store.ids.put_cached_contacts("acme", "email:a@b.c", ["c1"], 60)
        await store.ids.get_cached_contacts("acme", "email:a@b.c")
        await store.ids.put_cached_conversation("acme", "c1", "conv", 60)
        await store.ids.get_cached_conversation("acme", "c1")
        await store.ids.drop_cached_conversations("acme", ["conv"])
        clock.advance(3600)
        await store.ledger.prune(timedelta(minutes=1))
        await store.queue.stop_tenant("beta")
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", capture)

    assert len(statements) > 30
    if store.backend == "postgresql":
        assert await _postgres_seq_scans(store, statements) == []
    else:
        assert await _sqlite_scans(store, statements) == []


async def _sqlite_scans(store: Store, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    full_scans = []
    async with store.engine.connect() as conn:
        for statement, parameters in statements:
            plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
            for step in (str(row._mapping["detail"]) for row in plan):
                if step.startswith("SCAN") and step not in ALLOWED_SCANS and "CONSTANT ROW" not in step:
                    full_scans.append((step, " ".join(statement.split())[:160]))
    return full_scans


def _seq_scans(node: dict[str, Any]) -> list[str]:
    found = [str(node["Relation Name"])] if node["Node Type"] == "Seq Scan" else []
    for child in node.get("Plans", []):
        found += _seq_scans(child)
    return found


async def _postgres_seq_scans(store: Store, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    full_scans = []
    async with store.engine.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            [[plan]] = (await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)).all()
            for table in _seq_scans(plan[0]["Plan"]):
                if table != "tenants":
                    full_scans.append((table, " ".join(statement.split())[:160]))
        await conn.rollback()
    return full_scans
