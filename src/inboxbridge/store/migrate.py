"""Versioned schema migrations (alembic, run programmatically over the store's own connection).

The revisions live in ``migrations/versions``; the version applied to a database is kept in its
``alembic_version`` table. :func:`migrate` brings a database to the newest revision this code knows;
:func:`verify` only checks, for processes that must not change the schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from inboxbridge.store.dialect import (
    DatabaseTarget,
    Engines,
    PostgresTarget,
    create_engines,
    lock_migrations,
    parse_url,
)
from inboxbridge.store.errors import SchemaVersionError, unavailable_on_failure

__all__ = ["VERSION_TABLE", "head_revision", "known_revisions", "migrate", "upgrade", "verify"]

VERSION_TABLE = "alembic_version"
_LOCATION = Path(__file__).with_name("migrations")


def _script() -> ScriptDirectory:
    return ScriptDirectory(str(_LOCATION))


def head_revision() -> str:
    """The newest schema revision this version of inboxbridge knows."""
    head = _script().get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every schema revision this version of inboxbridge knows."""
    return {revision.revision for revision in _script().walk_revisions()}


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _apply(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(_LOCATION))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _refuse_unknown(current: str | None, where: str) -> None:
    if current is not None and current not in known_revisions():
        raise SchemaVersionError(
            f"the {where} has schema revision {current!r}, which this version of inboxbridge does not "
            f"know (newest known: {head_revision()!r}); a newer inboxbridge wrote it — upgrade inboxbridge"
        )


async def _current_revision(engines: Engines) -> str | None:
    async with engines.read.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade(engines: Engines, where: str) -> str:
    """Apply every missing revision, in one transaction holding the write lock; returns the revision.

    On PostgreSQL the schema named by the URL's ``search_path`` is created when missing, and nodes that start
    at once migrate one after the other.
    """
    with unavailable_on_failure(f"migrating the {where}"):
        current = await _current_revision(engines)
        _refuse_unknown(current, where)
        if current != head_revision():
            async with engines.write.begin() as connection:
                await connection.run_sync(lock_migrations)
                # Checked again under the lock: another process may have migrated meanwhile.
                _refuse_unknown(await connection.run_sync(_current), where)
                if isinstance(engines.target, PostgresTarget) and engines.target.schema:
                    schema = engines.target.schema.replace('"', '""')
                    await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await connection.run_sync(_apply)
    return head_revision()


async def verify(engines: Engines, where: str) -> str:
    """Refuse (:class:`SchemaVersionError`) a database whose schema is not exactly the newest known."""
    with unavailable_on_failure(f"reading the schema version of the {where}"):
        current = await _current_revision(engines)
    _refuse_unknown(current, where)
    if current is None:
        raise SchemaVersionError(f"the {where} has no inboxbridge schema; run `inboxbridge migrate` first")
    if current != head_revision():
        raise SchemaVersionError(
            f"the {where} has schema revision {current!r} but this inboxbridge needs {head_revision()!r}; "
            "run `inboxbridge migrate` first"
        )
    return current


async def migrate(url: str, *, busy_timeout: float = 5.0) -> str:
    """Create or upgrade the schema of the database at ``url``; returns the revision it is now at."""
    target: DatabaseTarget = parse_url(url)
    target.check_reachable()
    engines = create_engines(target, busy_timeout=busy_timeout)
    try:
        return await upgrade(engines, target.describe())
    finally:
        await engines.dispose()
