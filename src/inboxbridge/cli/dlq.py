"""`inboxbridge dlq list|replay|drop`: look at dead letters, replay or delete them by id or by filter."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from inboxbridge import dead_letters
from inboxbridge.cli.common import ConfigOption, console, err, load
from inboxbridge.cli.store_access import open_store
from inboxbridge.config import Settings
from inboxbridge.store import EventRow, EventStatus

app = typer.Typer(help="Dead letters: events that will not be tried again until replayed.", no_args_is_help=True)

Ids = Annotated[list[int] | None, typer.Argument(help="Event ids; or --all (with --tenant/--source filters).")]
Tenant = Annotated[str | None, typer.Option(help="Only this tenant's dead letters.")]
Source = Annotated[str | None, typer.Option(help="Only this source's dead letters.")]
Every = Annotated[bool, typer.Option("--all", help="Every dead letter matching --tenant/--source.")]


@app.command("list")
def list_command(
    tenant: Tenant = None,
    source: Source = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    config: ConfigOption = None,
) -> None:
    """Dead letters, newest first, with why they died."""
    rows = asyncio.run(_list(load(config), tenant, source, limit))
    table = Table(title=f"dead letters ({len(rows)} shown)")
    for column in ("id", "tenant/source", "customer", "tries", "received", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            f"{row.tenant_id}/{row.source}",
            row.customer_key,
            str(row.attempts),
            row.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            row.last_error or "",
        )
    console.print(table)


async def _list(settings: Settings, tenant: str | None, source: str | None, limit: int) -> list[EventRow]:
    async with open_store(settings) as store:
        return await store.ledger.list_events(tenant=tenant, source=source, status=EventStatus.DEAD, limit=limit)


@app.command("replay")
def replay_command(
    ids: Ids = None, every: Every = False, tenant: Tenant = None, source: Source = None, config: ConfigOption = None
) -> None:
    """Put dead letters back in the queue (a running worker delivers them)."""
    settings = load(config)
    count = asyncio.run(_act(settings, "replay", ids or [], every, tenant, source))
    console.print(f"replayed {count} event(s)")


@app.command("drop")
def drop_command(
    ids: Ids = None, every: Every = False, tenant: Tenant = None, source: Source = None, config: ConfigOption = None
) -> None:
    """Delete dead letters and their delivery history for good."""
    settings = load(config)
    count = asyncio.run(_act(settings, "drop", ids or [], every, tenant, source))
    console.print(f"dropped {count} event(s)")


async def _act(
    settings: Settings, action: str, ids: list[int], every: bool, tenant: str | None, source: str | None
) -> int:
    if ids and every:
        err.print("give event ids or --all, not both")
        raise typer.Exit(2)
    async with open_store(settings) as store:
        try:
            if action == "replay":
                return await dead_letters.replay(store.queue, ids, every=every, tenant=tenant, source=source)
            return await dead_letters.drop(store.ledger, ids, every=every, tenant=tenant, source=source)
        except ValueError as exc:
            err.print(str(exc).replace("or all", "or --all"))
            raise typer.Exit(2) from None
