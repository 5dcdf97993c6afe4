"""The database the store's roles share: its engines, its transactions, the write lock, and the clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inboxbridge.store.changes import ChangeWatch
from inboxbridge.store.dialect import Engines, SqliteTarget, create_engines, parse_url
from inboxbridge.store.errors import unavailable_on_failure
from inboxbridge.store.migrate import upgrade, verify

__all__ = ["Clock", "Database", "read_clock"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def read_clock(clock: Clock) -> datetime:
    """What ``clock`` says, as aware UTC; a clock returning naive datetimes is refused."""
    value = clock()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("the store's clock must return timezone-aware datetimes")
    return value.astimezone(UTC)


class Database:
    """One database, opened once per process and shared by every role of the store.

    Every call of a role is one short transaction from :meth:`transaction`; a database failure inside it surfaces
    as :class:`~inboxbridge.store.StoreUnavailable` with nothing of the transaction stored.
    """

    def __init__(self, engines: Engines, clock: Clock, description: str) -> None:
        self._engines = engines
        self.backend = engines.target.backend
        self._clock = clock
        self.description = description
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        clock: Clock | None = None,
        busy_timeout: float = 5.0,
    ) -> Database:
        """Open the database at ``url`` (see :meth:`inboxbridge.store.Store.open` for what ``url`` may be).

        With ``migrate`` the schema is created or upgraded; without, a schema that is missing, behind, or newer
        than this code is refused with :class:`~inboxbridge.store.SchemaVersionError`.
        """
        target = parse_url(url)
        target.check_reachable()
        engines = create_engines(target, busy_timeout=busy_timeout)
        try:
            if migrate:
                await upgrade(engines, target.describe())
            else:
                await verify(engines, target.describe())
        except BaseException:
            await engines.dispose()
            raise
        return cls(engines, clock or _utc_now, target.describe())

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for diagnostics (query plans, pragmas); the roles' methods are the API."""
        return self._engines.read

    async def close(self) -> None:
        """Close every connection."""
        await self._engines.dispose()

    def now(self) -> datetime:
        """The store's clock (aware UTC)."""
        return read_clock(self._clock)

    @asynccontextmanager
    async def transaction(self, what: str, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """One transaction, committed when the block ends; ``what`` names it in a failure's message."""
        failure = f"{what} on the {self.description}"
        if not write:
            with unavailable_on_failure(failure):
                async with self._engines.read.begin() as conn:
                    yield conn
            return
        if not self._engines.serializes_writes:
            # PostgreSQL: writers run side by side; key locks and row locks order what must be ordered.
            with unavailable_on_failure(failure):
                async with self._engines.write.begin() as conn:
                    yield conn
            return
        # SQLite has one writer at a time. Queueing this process's writers here, fairly and without polling,
        # leaves the busy timeout to arbitrate only between processes; otherwise dozens of connections polling
        # for the lock can starve one past the timeout under a burst of webhooks.
        async with self._write_lock:
            with unavailable_on_failure(failure):
                async with self._engines.write.begin() as conn:
                    yield conn

    def watch_changes(self) -> ChangeWatch | None:
        """A :class:`~inboxbridge.store.changes.ChangeWatch` on a SQLite store's file (close it when done); None on
        PostgreSQL."""
        target = self._engines.target
        if isinstance(target, SqliteTarget):
            return ChangeWatch(target.path)
        return None

    async def ping(self) -> None:
        """Check that the database answers; raises StoreUnavailable if not."""
        async with self.transaction("ping", write=False) as conn:
            await conn.execute(text("SELECT 1"))
