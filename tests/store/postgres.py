"""The PostgreSQL the store tests run against: a schema of their own per run, dropped at the end.

``INBOXBRIDGE_TEST_POSTGRES_URL`` names the server (default: the CI machine's, trust auth on 127.0.0.1). The
PostgreSQL variants of the tests fail, naming the server, when it cannot be reached: CI always has it running.
"""

from __future__ import annotations

import os
import secrets

import asyncpg
import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Referencing tables before those they reference.
TABLES = (
    "attempts",
    "queue_heads",
    "events",
    "tenants",
    "quarantine",
    "contact_cache",
    "conversation_cache",
    "rate_buckets",
)


def server_url() -> str:
    """The test server's URL, without a schema."""
    return os.environ.get("INBOXBRIDGE_TEST_POSTGRES_URL", DEFAULT_URL)


def with_schema(schema: str) -> str:
    """The store URL whose tables live in ``schema``."""
    url = server_url()
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


class Schemas:
    """Creates schemas named after this run, and drops them all when the run ends."""

    def __init__(self) -> None:
        self.prefix = f"ib_test_{secrets.token_hex(4)}"
        self.created: list[str] = []

    async def _connect(self) -> asyncpg.Connection:
        try:
            return await asyncpg.connect(server_url(), timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.fail(
                f"PostgreSQL is not reachable at {server_url()} ({type(exc).__name__}: {exc}). The store tests run "
                "against SQLite and PostgreSQL; start PostgreSQL or point INBOXBRIDGE_TEST_POSTGRES_URL at one.",
                pytrace=False,
            )

    async def create(self) -> str:
        """A new empty schema; returns the store URL that uses it."""
        name = f"{self.prefix}_{len(self.created)}"
        connection = await self._connect()
        try:
            await connection.execute(f'CREATE SCHEMA "{name}"')
        finally:
            await connection.close()
        self.created.append(name)
        return with_schema(name)

    async def truncate(self, url: str) -> None:
        """Empty every table of the schema of ``url`` and restart its ids."""
        schema = url.rsplit("search_path=", 1)[1]
        connection = await self._connect()
        try:
            # DELETE on a few rows is quicker than TRUNCATE, which replaces every table's files.
            await connection.execute(f'SET search_path = "{schema}"')
            for table in TABLES:
                await connection.execute(f"DELETE FROM {table}")
            for (sequence,) in await connection.fetch(
                "SELECT sequencename FROM pg_sequences WHERE schemaname = $1", schema
            ):
                await connection.execute(f"ALTER SEQUENCE {sequence} RESTART")
        finally:
            await connection.close()

    async def drop_all(self) -> None:
        """Drop every schema this run created."""
        if not self.created:
            return
        connection = await self._connect()
        try:
            for name in self.created:
                await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await connection.close()
