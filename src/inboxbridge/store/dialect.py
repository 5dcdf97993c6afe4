"""Everything that differs between database engines: URLs, connection set-up, transactions, upserts.

Only SQLite is wired up today. Its settings: WAL (readers never block the writer), ``synchronous=FULL``
(a committed ingest survives power loss, since the HTTP answer promises it), a busy timeout (wait for the
write lock instead of failing at once), foreign keys on, and Python's implicit transactions off so that this
module decides how each transaction begins: ``BEGIN IMMEDIATE`` for writes, which takes the write lock up
front so two processes on one file serialize their claims instead of deadlocking on a lock upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from inboxbridge.store.errors import StoreUnavailable

__all__ = ["DatabaseTarget", "Engines", "create_engines", "insert_ignore", "parse_url", "upsert"]

_BEGIN_OPTION = "inboxbridge_begin"


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """A parsed database location."""

    path: Path
    read_only: bool

    def async_url(self) -> URL:
        """The SQLAlchemy URL of the async driver."""
        if self.read_only:
            return URL.create(
                "sqlite+aiosqlite",
                database=f"file:{quote(str(self.path))}",
                query={"mode": "ro", "uri": "true"},
            )
        return URL.create("sqlite+aiosqlite", database=str(self.path))

    def check_reachable(self) -> None:
        """Fail early, with a plain reason, when the file cannot be opened or created at all."""
        folder = self.path.parent
        if not folder.is_dir():
            raise StoreUnavailable(f"cannot open {self.describe()}: the directory {folder} does not exist")
        if self.read_only and not self.path.is_file():
            raise StoreUnavailable(f"cannot open {self.describe()}: the file does not exist")

    def describe(self) -> str:
        """A human-readable name of the database, for messages."""
        return f"SQLite database {self.path}" + (" (read-only)" if self.read_only else "")


@dataclass(frozen=True, slots=True)
class Engines:
    """One connection pool, seen twice: ``read`` begins plain transactions, ``write`` takes the write lock."""

    read: AsyncEngine
    write: AsyncEngine

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.read.dispose()


def parse_url(url: str) -> DatabaseTarget:
    """Understand ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite+aiosqlite:///...``, a path.

    ``?mode=ro`` opens the file read-only. In-memory databases are refused: the store uses several
    connections, and each would see its own empty database.
    """
    if "://" not in url:
        return _sqlite_target(url, {})
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        raise ValueError("PostgreSQL is not supported by this version of inboxbridge yet; use a sqlite:/// URL")
    if backend != "sqlite" or parsed.drivername not in ("sqlite", "sqlite+aiosqlite"):
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path/to/file.db or a file path")
    return _sqlite_target(parsed.database or "", dict(parsed.query))


def _sqlite_target(database: str, query: Mapping[str, object]) -> DatabaseTarget:
    if database in ("", ":memory:") or database.startswith("file::memory:") or "mode=memory" in database:
        raise ValueError(
            "an in-memory SQLite database cannot be used: the store works over several connections, each of "
            "which would see its own empty database; give a file path such as sqlite:///inboxbridge.db"
        )
    unknown = set(query) - {"mode"}
    if unknown:
        raise ValueError(f"unsupported SQLite URL option(s): {', '.join(sorted(unknown))} (only mode=ro)")
    mode = query.get("mode")
    if mode not in (None, "ro", "rw", "rwc"):
        raise ValueError(f"unsupported SQLite mode {mode!r}: use mode=ro for a read-only store")
    return DatabaseTarget(path=Path(database), read_only=mode == "ro")


def create_engines(target: DatabaseTarget, *, busy_timeout: float) -> Engines:
    """Engines for ``target`` with the connection settings described in this module's docstring."""
    engine = create_async_engine(target.async_url(), pool_size=5, max_overflow=20, pool_pre_ping=False)
    busy_ms = max(0, round(busy_timeout * 1000))

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not target.read_only:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
        finally:
            cursor.close()

    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)
    return Engines(read=engine, write=engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}))


def _insert(conn: AsyncConnection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> Insert:
    """A multi-row ``INSERT ... ON CONFLICT (key) DO NOTHING``: rows whose key exists are skipped."""
    stmt = _insert(conn, table).values([dict(row) for row in rows])
    result: Insert = stmt.on_conflict_do_nothing(index_elements=list(key))
    return result


def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> Insert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of the ``update`` columns (default: all outside ``key``)."""
    stmt = _insert(conn, table).values(dict(values))
    columns = [name for name in values if name not in key] if update is None else list(update)
    result: Insert = stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in columns}
    )
    return result
