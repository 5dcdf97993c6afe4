"""`inboxbridge status` and `inboxbridge migrate`: look at and prepare the store."""

from __future__ import annotations

import asyncio

import typer
from rich.table import Table

from inboxbridge.cli.common import ConfigOption, console, err, load
from inboxbridge.config import Settings
from inboxbridge.store import EventStatus, SchemaVersionError, Store, StoreUnavailable, migrate
from inboxbridge.store.dialect import parse_url


def status(config: ConfigOption = None) -> None:
    """Counts of events by state per tenant, the oldest pending event's age, and dead letters."""
    settings = load(config)
    asyncio.run(_status(settings))


async def _status(settings: Settings) -> None:
    try:
        store = await Store.open(settings.database_url, migrate=False)
    except (StoreUnavailable, SchemaVersionError) as exc:
        err.print(f"cannot open the store: {exc}", highlight=False)
        raise typer.Exit(1) from None
    try:
        # The target's description names the database without the password a PostgreSQL URL may hold.
        table = Table(title=f"inboxbridge · {parse_url(settings.database_url).describe()}")
        table.add_column("tenant")
        for state in EventStatus:
            table.add_column(state.value, justify="right")
        table.add_column("oldest pending", justify="right")
        names = sorted({t.id for t in await store.ledger.list_tenants()})
        for name in names:
            counts = await store.ledger.counts(name)
            age = await store.ledger.oldest_pending_age(name)
            table.add_row(
                name, *(str(counts.get(s.value, 0)) for s in EventStatus), f"{age:.0f} s" if age is not None else "—"
            )
        console.print(table)
        dead = await store.ledger.list_events(status=EventStatus.DEAD, limit=10)
        for row in dead:
            console.print(f"dead #{row.id} {row.tenant_id}/{row.source} {row.customer_key}: {row.last_error}")
    finally:
        await store.close()


def migrate_command(config: ConfigOption = None) -> None:
    """Create or upgrade the store's schema, then exit (run it before starting nodes on PostgreSQL)."""
    settings = load(config)
    try:
        revision = asyncio.run(migrate(settings.database_url))
    except (StoreUnavailable, SchemaVersionError) as exc:
        err.print(f"cannot migrate the store: {exc}", highlight=False)
        raise typer.Exit(1) from None
    where = parse_url(settings.database_url).describe()
    console.print(f"schema up to date (revision {revision}): {where}", highlight=False)
