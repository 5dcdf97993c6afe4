"""The store's face: it opens the database and holds the roles that share it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from inboxbridge.store.changes import ChangeWatch
from inboxbridge.store.database import Clock, Database
from inboxbridge.store.delivery_queue import SqlDeliveryQueue
from inboxbridge.store.id_cache import StoredIdCache
from inboxbridge.store.ledger import Ledger
from inboxbridge.store.ratelimit import SharedRateLimiter

__all__ = ["Store"]


class Store:
    """The durable ledger of one process: ``queue`` (the delivery queue), ``ledger`` (the operator's side),
    ``ids`` (the stored id cache), all on one :class:`~inboxbridge.store.database.Database`.

    Open with :meth:`open`; share one instance between all tasks of a process. Database failures surface as
    :class:`~inboxbridge.store.StoreUnavailable` with nothing of the failed call stored.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self.backend = database.backend
        self.queue = SqlDeliveryQueue(database)
        self.ledger = Ledger(database)
        self.ids = StoredIdCache(database)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        clock: Clock | None = None,
        busy_timeout: float = 5.0,
    ) -> Store:
        """Open the database at ``url``: ``sqlite:///file.db``, ``sqlite+aiosqlite:///...``, a path, or
        ``postgresql://user@host/database`` (see :func:`~inboxbridge.store.dialect.parse_url` for the options).

        With ``migrate`` the schema is created or upgraded; without, a schema that is missing, behind, or
        newer than this code is refused with :class:`~inboxbridge.store.SchemaVersionError`.
        ``busy_timeout`` is how long (seconds) a call waits for another process's write lock (SQLite) or for a
        free pooled connection (PostgreSQL) before giving up as unavailable.
        """
        return cls(await Database.open(url, migrate=migrate, clock=clock, busy_timeout=busy_timeout))

    def rate_limiter(self, rate: float, burst: int = 1) -> SharedRateLimiter:
        """A Wix rate limiter of ``rate`` requests a second per site (``burst`` at once) shared by every process on
        this database."""
        return SharedRateLimiter(self.database, rate, burst)

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for diagnostics (query plans, pragmas); the roles' methods are the API."""
        return self.database.engine

    def now(self) -> datetime:
        """The store's clock (aware UTC)."""
        return self.database.now()

    def watch_changes(self) -> ChangeWatch | None:
        """A watch on other processes' commits (SQLite); None on PostgreSQL."""
        return self.database.watch_changes()

    async def ping(self) -> None:
        """Check that the database answers; raises StoreUnavailable if not."""
        await self.database.ping()

    async def close(self) -> None:
        """Close every connection."""
        await self.database.close()
