"""Fixtures for the store tests: a clock the test moves by hand, and a real database per test on each backend.

``store`` and ``db_url`` run every test that takes them twice: on a SQLite file, and on PostgreSQL in a schema
of this run (see postgres.py). ``sqlite_url`` is for the tests of SQLite's own behaviour.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from postgres import Schemas

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.store import AttemptRecord, Store, migrate

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_event(
    email: str = "ann@example.com",
    *,
    tenant: str = "acme",
    source: str = "chat",
    external_id: str | None = None,
    minute: int = 0,
    text: str = "hello",
    **fields: Any,
) -> InboundEvent:
    """An inbound message from ``email``, ``minute`` minutes after START."""
    return InboundEvent(
        tenant=tenant,
        source=source,
        kind=EventKind.MESSAGE,
        occurred_at=START + timedelta(minutes=minute),
        external_id=external_id,
        emails=(email,),
        text=text,
        **fields,
    )


def attempt(outcome: str = "delivered", **fields: Any) -> AttemptRecord:
    """An attempt record as a worker would report it."""
    return AttemptRecord(started_at=START, finished_at=START + timedelta(seconds=1), outcome=outcome, **fields)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def schemas() -> Iterator[Schemas]:
    made = Schemas()
    yield made
    asyncio.run(made.drop_all())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'inboxbridge.db'}"


# The PostgreSQL set-up runs in sync fixtures, outside the test's event loop, each in a loop of its own.


@pytest.fixture
def db_url(backend: str, sqlite_url: str, request: pytest.FixtureRequest) -> str:
    """An empty database (a fresh SQLite file, or a fresh PostgreSQL schema)."""
    if backend == "sqlite":
        return sqlite_url
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def postgres_url(schemas: Schemas) -> str:
    """An empty PostgreSQL schema, for the tests of PostgreSQL's own behaviour."""
    return asyncio.run(schemas.create())


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated database file, migrated once per run and copied by the tests that need one."""
    path = tmp_path_factory.mktemp("template") / "inboxbridge.db"
    asyncio.run(migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def migrated_schema(schemas: Schemas) -> str:
    """A PostgreSQL schema migrated once per run, emptied by each test that uses it."""

    async def make() -> str:
        url = await schemas.create()
        await migrate(url)
        return url

    return asyncio.run(make())


@pytest.fixture
def migrated_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the test's backend."""
    if backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("migrated_template"), tmp_path / "inboxbridge.db")
        return f"sqlite:///{tmp_path / 'inboxbridge.db'}"
    url: str = request.getfixturevalue("migrated_schema")
    schemas: Schemas = request.getfixturevalue("schemas")
    asyncio.run(schemas.truncate(url))
    return url


@pytest.fixture
async def store(migrated_url: str, clock: ManualClock) -> AsyncIterator[Store]:
    opened = await Store.open(migrated_url, clock=clock)
    await opened.ledger.upsert_tenant("acme")
    await opened.ledger.upsert_tenant("beta")
    try:
        yield opened
    finally:
        await opened.close()
