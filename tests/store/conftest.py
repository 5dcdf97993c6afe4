"""Fixtures for the store tests: a real SQLite file per test and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

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


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'inboxbridge.db'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly migrated database file, migrated once per run and copied by the tests that need one."""
    path = tmp_path_factory.mktemp("template") / "inboxbridge.db"
    asyncio.run(migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture
async def store(tmp_path: Path, migrated_template: Path, db_url: str, clock: ManualClock) -> AsyncIterator[Store]:
    shutil.copyfile(migrated_template, tmp_path / "inboxbridge.db")
    opened = await Store.open(db_url, clock=clock)
    await opened.upsert_tenant("acme")
    await opened.upsert_tenant("beta")
    try:
        yield opened
    finally:
        await opened.close()
