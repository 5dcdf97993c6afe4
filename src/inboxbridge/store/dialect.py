"""Everything that differs between database engines: URLs, connection set-up, transactions, locks, upserts.

**SQLite** (one node): WAL (readers never block the writer), ``synchronous=FULL`` (a committed ingest survives
power loss, since the HTTP answer promises it), a busy timeout (wait for the write lock instead of failing at
once), foreign keys on, and Python's implicit transactions off so that this module decides how each transaction
begins: ``BEGIN IMMEDIATE`` for writes, which takes the write lock up front so two processes on one file
serialize their claims instead of deadlocking on a lock upgrade. With one writer at a time, key locks are free.

**PostgreSQL** (several nodes, asyncpg): READ COMMITTED transactions that run side by side. Whatever changes the
undelivered events of an ordering key first takes that key's lock — a transaction-scoped advisory lock on a
64-bit hash of the key, taken in ascending order so two writers never deadlock — and only then reads and
writes, so each statement after the lock sees every earlier change of the key committed. Claims never wait:
they lock head rows ``FOR UPDATE SKIP LOCKED`` and *try* the key locks, skipping keys another transaction holds.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from sqlalchemy import BigInteger, ColumnElement, Table, bindparam, cast, event, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from inboxbridge.store.errors import StoreUnavailable

__all__ = [
    "DatabaseTarget",
    "Engines",
    "PostgresTarget",
    "SqliteTarget",
    "create_engines",
    "greatest",
    "insert_for",
    "insert_ignoring_conflicts",
    "is_postgres",
    "least",
    "lock_keys",
    "lock_keys_of_events",
    "lock_migrations",
    "parse_url",
    "server_now_micros",
    "try_lock_keys",
    "upsert",
]

_BEGIN_OPTION = "inboxbridge_begin"
# Query options of a PostgreSQL URL that configure the connection pool rather than the server session.
_POOL_OPTIONS = {"pool_size": 10, "max_overflow": 10}
# The advisory lock id that serializes schema migrations between nodes starting at once.
_MIGRATION_LOCK = 0x1B0B_1D6E


@dataclass(frozen=True, slots=True)
class SqliteTarget:
    """A SQLite database file."""

    path: Path
    read_only: bool
    backend: Literal["sqlite"] = "sqlite"

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
class PostgresTarget:
    """A PostgreSQL database, optionally a schema in it (``search_path``), reached with asyncpg."""

    url: URL
    server_settings: Mapping[str, str] = field(default_factory=dict)
    ssl: str | None = None
    pool_size: int = _POOL_OPTIONS["pool_size"]
    max_overflow: int = _POOL_OPTIONS["max_overflow"]
    backend: Literal["postgresql"] = "postgresql"

    def async_url(self) -> URL:
        """The SQLAlchemy URL of the async driver."""
        return self.url

    @property
    def schema(self) -> str | None:
        """The schema the tables live in when the URL names one (the first of ``search_path``)."""
        path = self.server_settings.get("search_path", "")
        first = path.split(",")[0].strip().strip('"')
        return first or None

    def check_reachable(self) -> None:
        """Nothing to check before connecting: the connection itself says what is wrong."""

    def describe(self) -> str:
        """A human-readable name of the database (never the password), for messages."""
        where = f"{self.url.host or 'localhost'}:{self.url.port or 5432}"
        schema = f", schema {self.schema}" if self.schema else ""
        return f"PostgreSQL database {self.url.database} on {where}{schema}"


DatabaseTarget = SqliteTarget | PostgresTarget


@dataclass(frozen=True, slots=True)
class Engines:
    """One connection pool, seen twice: ``read`` begins plain transactions, ``write`` those that write.

    On SQLite ``write`` takes the file's write lock at BEGIN and writers are serialized; on PostgreSQL both
    are READ COMMITTED and writers run side by side, ordered by key locks.
    """

    read: AsyncEngine
    write: AsyncEngine
    target: DatabaseTarget

    @property
    def serializes_writes(self) -> bool:
        """Whether the database admits one writer at a time (SQLite)."""
        return self.target.backend == "sqlite"

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.read.dispose()


def parse_url(url: str) -> DatabaseTarget:
    """Understand a database URL.

    SQLite: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite+aiosqlite:///...``, or a path;
    ``?mode=ro`` opens the file read-only. In-memory databases are refused: the store uses several
    connections, and each would see its own empty database.

    PostgreSQL: ``postgresql://``, ``postgres://`` or ``postgresql+asyncpg://user:password@host:port/db``.
    Query options: ``pool_size`` and ``max_overflow`` size the connection pool, ``ssl`` (or ``sslmode``)
    is asyncpg's TLS mode, and any other option is a server setting of every connection, such as
    ``search_path=inboxbridge`` to keep the tables in that schema.
    """
    if "://" not in url:
        return _sqlite_target(url, {})
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {url!r}") from exc
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return _postgres_target(parsed)
    if parsed.get_backend_name() == "postgresql":
        raise ValueError(f"unsupported PostgreSQL driver {parsed.drivername!r}: use postgresql:// (asyncpg)")
    if parsed.get_backend_name() != "sqlite" or parsed.drivername not in ("sqlite", "sqlite+aiosqlite"):
        raise ValueError(
            f"unsupported database URL {parsed.render_as_string()!r}: use sqlite:///path/to/file.db, a file path, "
            "or postgresql://user@host/database"
        )
    return _sqlite_target(parsed.database or "", dict(parsed.query))


def is_postgres(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database."""
    return parse_url(url).backend == "postgresql"


def _sqlite_target(database: str, query: Mapping[str, object]) -> SqliteTarget:
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
    return SqliteTarget(path=Path(database), read_only=mode == "ro")


def _postgres_target(parsed: URL) -> PostgresTarget:
    if not parsed.database:
        raise ValueError("a PostgreSQL URL must name the database: postgresql://user@host:5432/database")
    options: dict[str, str] = {}
    for name, value in parsed.query.items():
        if not isinstance(value, str):
            raise ValueError(f"the PostgreSQL URL option {name!r} is given more than once")
        options[name] = value
    pool: dict[str, int] = {}
    for name, default in _POOL_OPTIONS.items():
        raw = options.pop(name, str(default))
        if not raw.isdigit():
            raise ValueError(f"the PostgreSQL URL option {name} must be a whole number, got {raw!r}")
        pool[name] = int(raw)
    if pool["pool_size"] < 1:
        raise ValueError("the PostgreSQL URL option pool_size must be at least 1")
    ssl = options.pop("ssl", None) or options.pop("sslmode", None)
    return PostgresTarget(
        url=parsed.set(drivername="postgresql+asyncpg", query={}),
        server_settings=options,
        ssl=ssl,
        pool_size=pool["pool_size"],
        max_overflow=pool["max_overflow"],
    )


def create_engines(target: DatabaseTarget, *, busy_timeout: float) -> Engines:
    """Engines for ``target`` with the connection settings described in this module's docstring.

    ``busy_timeout`` (seconds) bounds how long SQLite waits for another process's write lock; on PostgreSQL it
    bounds the wait for a pooled connection.
    """
    if isinstance(target, PostgresTarget):
        return _postgres_engines(target, busy_timeout)
    return _sqlite_engines(target, busy_timeout)


def _sqlite_engines(target: SqliteTarget, busy_timeout: float) -> Engines:
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
    return Engines(read=engine, write=engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"}), target=target)


def _postgres_engines(target: PostgresTarget, busy_timeout: float) -> Engines:
    connect_args: dict[str, Any] = {"server_settings": dict(target.server_settings)}
    if target.ssl is not None:
        connect_args["ssl"] = target.ssl
    engine = create_async_engine(
        target.async_url(),
        pool_size=target.pool_size,
        max_overflow=target.max_overflow,
        pool_timeout=max(busy_timeout, 0.1),
        # No ping per checkout (a round trip per transaction): a connection that died with a restarted server
        # fails one call as unavailable and is replaced, and every caller retries such failures.
        pool_pre_ping=False,
        # Explicit, whatever the server's default: the key locks are designed for READ COMMITTED.
        isolation_level="READ COMMITTED",
        connect_args=connect_args,
    )
    return Engines(read=engine, write=engine, target=target)


# The lock id of an ordering key is computed by the server, hashtextextended(key, 0), so every statement (whether
# it starts from keys or from event ids) names a key's lock the same way; a hash collision only costs some waiting.
_IDS = postgresql.ARRAY(postgresql.BIGINT)
_KEYS = postgresql.ARRAY(postgresql.TEXT)
# Ascending lock ids: two transactions wanting overlapping keys never wait for each other in a circle.
_LOCK_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(lock_id)) FROM "
    "(SELECT DISTINCT hashtextextended(key, 0) AS lock_id FROM unnest(:keys) AS key ORDER BY lock_id) AS ids"
).bindparams(bindparam("keys", type_=_KEYS))
_LOCK_KEYS_OF_EVENTS = text(
    "SELECT count(pg_advisory_xact_lock(lock_id)) FROM "
    "(SELECT DISTINCT hashtextextended(ordering_key, 0) AS lock_id FROM events "
    "WHERE id = ANY(:ids) ORDER BY lock_id) AS ids"
).bindparams(bindparam("ids", type_=_IDS))
_TRY_LOCK_KEYS = text(
    "SELECT key FROM unnest(:keys) AS key WHERE pg_try_advisory_xact_lock(hashtextextended(key, 0))"
).bindparams(bindparam("keys", type_=_KEYS))


async def lock_keys(conn: AsyncConnection, keys: Collection[str]) -> None:
    """Take the locks of ``keys`` for the rest of the transaction, waiting for their holders.

    Call before reading or changing any undelivered event of those keys. On SQLite the write transaction
    already excludes every other writer.
    """
    if conn.dialect.name != "postgresql" or not keys:
        return
    await conn.execute(_LOCK_KEYS, {"keys": sorted(set(keys))})


async def lock_keys_of_events(conn: AsyncConnection, event_ids: Collection[int]) -> None:
    """:func:`lock_keys` for the ordering keys of ``event_ids`` (an event's key never changes)."""
    if conn.dialect.name != "postgresql" or not event_ids:
        return
    await conn.execute(_LOCK_KEYS_OF_EVENTS, {"ids": sorted(set(event_ids))})


async def try_lock_keys(conn: AsyncConnection, keys: Collection[str]) -> set[str]:
    """Take the locks of those ``keys`` nobody holds, without waiting; returns the keys now locked."""
    if conn.dialect.name != "postgresql" or not keys:
        return set(keys)
    return set((await conn.execute(_TRY_LOCK_KEYS, {"keys": sorted(set(keys))})).scalars())


def lock_migrations(connection: Connection) -> None:
    """Make nodes that start at once migrate one after the other (PostgreSQL; SQLite's write lock does it)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})


def insert_for(conn: AsyncConnection, table: Table) -> Any:
    """The INSERT construct of the connection's dialect, which knows ON CONFLICT."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring_conflicts(
    table: Table, index_elements: Sequence[str], *, returning: Sequence[ColumnElement[Any]]
) -> dict[str, Insert]:
    """``INSERT ... ON CONFLICT (index_elements) DO NOTHING RETURNING ...`` for each dialect, by dialect name: built
    once at import, where a statement is built anew per call costs more than running it."""
    return {
        name: dialect.insert(table).on_conflict_do_nothing(index_elements=list(index_elements)).returning(*returning)
        for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
    }


def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    key: Sequence[str],
    update: Sequence[str] | None = None,
) -> Insert:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of the ``update`` columns (default: all outside ``key``)."""
    stmt = insert_for(conn, table).values(dict(values))
    columns = [name for name in values if name not in key] if update is None else list(update)
    result: Insert = stmt.on_conflict_do_update(
        index_elements=list(key), set_={name: stmt.excluded[name] for name in columns}
    )
    return result


def server_now_micros(conn: AsyncConnection) -> ColumnElement[int]:
    """The database server's clock in microseconds since the epoch: one clock for every node."""
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", func.clock_timestamp()) * 1_000_000, BigInteger)
    return cast((func.julianday("now") - 2440587.5) * 86_400_000_000, BigInteger)


def least(conn: AsyncConnection, left: ColumnElement[Any], right: ColumnElement[Any]) -> ColumnElement[Any]:
    """The smaller of two values (SQLite's two-argument ``min`` is PostgreSQL's ``LEAST``)."""
    if conn.dialect.name == "postgresql":
        return func.least(left, right)
    return func.min(left, right)


def greatest(conn: AsyncConnection, left: ColumnElement[Any], right: ColumnElement[Any]) -> ColumnElement[Any]:
    """The larger of two values."""
    if conn.dialect.name == "postgresql":
        return func.greatest(left, right)
    return func.max(left, right)
