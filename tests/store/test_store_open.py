"""Opening a store: URL forms, SQLite and PostgreSQL settings, schema migrations and their version checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from conftest import ManualClock, make_event
from postgres import Schemas
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import inboxbridge.store
from inboxbridge.store import SchemaVersionError, Store, StoreUnavailable, head_revision, migrate
from inboxbridge.store.dialect import PostgresTarget, parse_url
from inboxbridge.store.schema import metadata


async def _roundtrip(url: str, clock: ManualClock) -> None:
    store = await Store.open(url, clock=clock)
    try:
        await store.ledger.upsert_tenant("acme")
        [result] = await store.queue.ingest([make_event(external_id="m1")])
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
        ("postgresql+psycopg://db/inboxbridge", "unsupported PostgreSQL driver"),
        ("postgresql://db", "must name the database"),
        ("postgresql://db/ib?pool_size=many", "pool_size must be a whole number"),
        ("postgresql://db/ib?pool_size=0", "pool_size must be at least 1"),
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


async def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(sqlite_url: str) -> None:
    store = await Store.open(sqlite_url)
    try:
        async with store.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 5000
        await store.ping()
    finally:
        await store.close()


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg"])
def test_postgresql_url_forms_and_options(scheme: str) -> None:
    target = parse_url(f"{scheme}://ib:s3cret@db.internal:6432/inbox?search_path=ib&pool_size=20&max_overflow=0")
    assert isinstance(target, PostgresTarget)
    assert target.url.drivername == "postgresql+asyncpg" and target.url.database == "inbox"
    assert (target.pool_size, target.max_overflow, target.schema) == (20, 0, "ib")
    assert dict(target.server_settings) == {"search_path": "ib"}
    assert "s3cret" not in target.describe() and "schema ib" in target.describe()
    assert parse_url("postgres://h/db?sslmode=require").ssl == "require"  # type: ignore[union-attr]


async def test_postgresql_connections_read_committed_in_the_urls_schema(postgres_url: str) -> None:
    store = await Store.open(postgres_url)
    try:
        async with store.engine.connect() as conn:
            assert (await conn.exec_driver_sql("SHOW transaction_isolation")).scalar() == "read committed"
            schema = (await conn.exec_driver_sql("SELECT current_schema()")).scalar()
        assert schema == postgres_url.rsplit("search_path=", 1)[1]
        await store.ping()
    finally:
        await store.close()


@pytest.mark.parametrize("scheme", ["postgresql://", "postgres://", "postgresql+asyncpg://"])
async def test_postgresql_url_forms_open_the_database(scheme: str, postgres_url: str, clock: ManualClock) -> None:
    await _roundtrip(scheme + postgres_url.split("://", 1)[1], clock)
    assert await _sql(postgres_url, "SELECT count(*) FROM events") == [(1,)]


async def test_migrate_creates_the_schema_the_url_names(postgres_url: str, schemas: Schemas) -> None:
    url = postgres_url + "_made_by_migrate"
    schemas.created.append(url.rsplit("search_path=", 1)[1])
    assert await migrate(url) == head_revision()
    assert await _sql(url, "SELECT count(*) FROM tenants") == [(0,)]


async def test_unreachable_postgresql_is_unavailable() -> None:
    # Port 9 (discard) is closed on the test machines: the connection is refused at once.
    with pytest.raises(StoreUnavailable, match=r"PostgreSQL database ib on 127\.0\.0\.1:9"):
        await Store.open("postgresql://ib@127.0.0.1:9/ib")


async def _sql(url: str, statement: str) -> list[tuple[object, ...]]:
    store = await Store.open(url, migrate=False)
    try:
        async with store.engine.begin() as conn:
            result = await conn.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await store.close()


async def test_reopening_keeps_data_and_version(db_url: str, clock: ManualClock) -> None:
    await _roundtrip(db_url, clock)
    reopened = await Store.open(db_url, clock=clock)
    try:
        [again] = await reopened.queue.ingest([make_event(external_id="m1")])
        assert again.duplicate
    finally:
        await reopened.close()
    assert await _sql(db_url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]


async def test_migrate_function_then_open_without_migrating(db_url: str) -> None:
    assert await migrate(db_url) == head_revision()
    assert await migrate(db_url) == head_revision()
    store = await Store.open(db_url, migrate=False)
    await store.close()


async def test_open_without_migrating_refuses_an_empty_database(db_url: str) -> None:
    with pytest.raises(SchemaVersionError, match="no inboxbridge schema"):
        await Store.open(db_url, migrate=False)


@pytest.mark.parametrize("migrate_on_open", [True, False])
async def test_a_newer_unknown_schema_version_is_refused(db_url: str, migrate_on_open: bool) -> None:
    await migrate(db_url)
    await _sql(db_url, "UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(SchemaVersionError, match="9999_from_the_future"):
        await Store.open(db_url, migrate=migrate_on_open)


def _downgrade_to_first(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(inboxbridge.store.__file__).with_name("migrations")))
    config.attributes["connection"] = connection
    command.downgrade(config, "0001")


async def test_an_older_schema_is_refused_without_migrating_and_upgraded_with(db_url: str) -> None:
    await migrate(db_url)
    store = await Store.open(db_url, migrate=False)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(_downgrade_to_first)
    finally:
        await store.close()
    with pytest.raises(SchemaVersionError, match="run `inboxbridge migrate` first"):
        await Store.open(db_url, migrate=False)
    assert await migrate(db_url) == head_revision()
    assert await _sql(db_url, "SELECT count(*) FROM rate_buckets") == [(0,)]


def _compare(connection: Connection) -> tuple[list[object], set[str]]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    indexes = {index["name"] for table in metadata.tables for index in inspect(connection).get_indexes(table)}
    return compare_metadata(context, metadata), {str(name) for name in indexes}


async def test_migrations_build_exactly_the_declared_schema(db_url: str) -> None:
    await migrate(db_url)
    store = await Store.open(db_url, migrate=False)
    try:
        async with store.engine.connect() as conn:
            differences, indexes = await conn.run_sync(_compare)
    finally:
        await store.close()
    assert differences == []
    assert {"ix_events_active_key", "ix_events_in_flight_key", "ix_queue_heads_tenant_ready"} <= indexes
