"""`inboxbridge send` and `inboxbridge import` to a tenant whose Wix app was removed: what they store is parked in
the same transaction, never delivered, until the app is installed again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inboxbridge.cli import app
from inboxbridge.store import EventStatus, Store, TenantStatus


async def _stop(database: Path, tenant: str) -> None:
    store = await Store.open(f"sqlite:///{database}")
    try:
        await store.ledger.upsert_tenant(tenant)
        await store.queue.stop_tenant(tenant)
    finally:
        await store.close()


async def _state(database: Path, tenant: str) -> tuple[TenantStatus | None, list[EventStatus]]:
    store = await Store.open(f"sqlite:///{database}")
    try:
        row = await store.ledger.get_tenant(tenant)
        events = await store.ledger.list_events(tenant=tenant, limit=100)
        return (None if row is None else row.status), [event.status for event in events]
    finally:
        await store.close()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose tenant acme uses the built-in sandbox, acme stopped as App Removed leaves it."""
    (tmp_path / "inboxbridge.toml").write_text(
        f'database_url = "sqlite:///{tmp_path / "ib.db"}"\n'
        '[wix]\nbase_url = "sandbox"\n'
        "[worker]\npoll_interval_seconds = 0.05\n"
        "[tenants.acme]\n"
    )
    (tmp_path / "visits.csv").write_text(
        "visit_id,visited_at,email\nv1,2026-02-01T10:00:00Z,ana@example.com\nv2,2026-02-02T11:00:00Z,bo@example.com\n"
    )
    asyncio.run(_stop(tmp_path / "ib.db", "acme"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_send_to_a_removed_tenant_parks_the_event(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOXBRIDGE_")}
    sent = subprocess.run(
        [sys.executable, "-m", "inboxbridge", "send", "acme", "Hello", "--email", "ana@example.com"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workdir,
        env=env,
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("stored as event 1, parked: the Wix app of acme was removed")
    assert asyncio.run(_state(workdir / "ib.db", "acme")) == (TenantStatus.STOPPED, [EventStatus.PARKED])


@pytest.mark.parametrize("wait", [False, True])
def test_import_to_a_removed_tenant_parks_the_rows_and_leaves_the_tenant_stopped(workdir: Path, wait: bool) -> None:
    mapping = ["--map", "id=visit_id", "--map", "occurred_at=visited_at", "--map", "email=email"]
    mapping += ["--map", "text_template=Visit", "--map", "default_kind=activity"]
    args = ["import", "visits.csv", "-t", "acme", *mapping, *(["--wait", "--timeout", "30"] if wait else [])]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "2 of them parked: the Wix app of acme was removed from its site" in result.stdout
    if wait:
        assert "delivered 0 of 2, 2 parked" in result.stdout
    status, events = asyncio.run(_state(workdir / "ib.db", "acme"))
    assert (status, events) == (TenantStatus.STOPPED, [EventStatus.PARKED, EventStatus.PARKED])
