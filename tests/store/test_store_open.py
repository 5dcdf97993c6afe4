"""Opening a store: URL forms, SQLite settings, schema migrations and their version checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from conftest import ManualClock, make_event
from sqlalchemy import create_engine, text

from inboxbridge.store import SchemaVersionError, Store, StoreUnavailable, head_revision, migrate
from inboxbridge.store.schema import metadata


async def _roundtrip(url: str, clock: ManualClock) -> None:
    store = await Store.open(url, clock=clock)
    try:
        await store.upsert_tenant("acme")
        [result] = await store.ingest([make_event(external_id="m1")])
        assert not result.duplicate
    finally:
        await store.close()


@pytest.mark.parametrize(
    "form",
    ["sqlite:///{rel}", "sqlite:///{abs}", "sqlite+aiosqlite:///{abs}", "{abs}", "{rel}"],
)
async def test_url_forms_open_the_named_file(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    monkeypatch.chdir(tmp_path)
    url = form.format(rel="data/ib.db", abs=tmp_path / "data" / "ib.db")
    (tmp_path / "data").mkdir()
    await _roundtrip(url, clock)
    with sqlite3.connect(tmp_path / "data" / "ib.db") as raw:
        assert raw.execute("SELECT count(*) FROM events").fetchone() == (1,)


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://", "sqlite+aiosqlite:///:memory:", ":memory:"])
async def test_in_memory_database_is_refused_with_a_reason(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory"):
        await Store.open(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://db/inboxbridge", "PostgreSQL"),
        ("mysql://db/inboxbridge", "unsupported database URL"),
        ("sqlite:///x.db?cache=shared", "unsupported SQLite URL option"),
    ],
)
async def test_unsupported_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await Store.open(url)


async def test_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable):
        await Store.open(f"sqlite:///{tmp_path / 'nowhere' / 'ib.db'}")


async def test_connections_use_wal_full_sync_and_foreign_keys(store: Store) -> None:
    async with store.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
    await store.ping()


async def test_reopening_keeps_data_and_version(db_url: str, tmp_path: Path, clock: ManualClock) -> None:
    await _roundtrip(db_url, clock)
    reopened = await Store.open(db_url, clock=clock)
    try:
        [again] = await reopened.ingest([make_event(external_id="m1")])
        assert again.duplicate
    finally:
        await reopened.close()
    with sqlite3.connect(tmp_path / "inboxbridge.db") as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]


async def test_migrate_function_then_open_without_migrating(db_url: str) -> None:
    assert await migrate(db_url) == head_revision()
    assert await migrate(db_url) == head_revision()
    store = await Store.open(db_url, migrate=False)
    await store.close()


async def test_open_without_migrating_refuses_an_empty_database(db_url: str) -> None:
    with pytest.raises(SchemaVersionError, match="no inboxbridge schema"):
        await Store.open(db_url, migrate=False)


@pytest.mark.parametrize("migrate_on_open", [True, False])
async def test_a_newer_unknown_schema_version_is_refused(db_url: str, tmp_path: Path, migrate_on_open: bool) -> None:
    await migrate(db_url)
    with sqlite3.connect(tmp_path / "inboxbridge.db") as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(SchemaVersionError, match="9999_from_the_future"):
        await Store.open(db_url, migrate=migrate_on_open)


async def test_migrations_build_exactly_the_declared_schema(db_url: str, tmp_path: Path) -> None:
    await migrate(db_url)
    engine = create_engine(f"sqlite:///{tmp_path / 'inboxbridge.db'}")
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            indexes = {row[0] for row in conn.execute(text("SELECT name FROM sqlite_master WHERE type='index'"))}
    finally:
        engine.dispose()
    assert {"ix_events_active_key", "ix_events_in_flight_key", "ix_queue_heads_tenant_ready"} <= indexes
