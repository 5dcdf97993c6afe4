"""`inboxbridge send`: one event from the command line."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from inboxbridge.cli.common import ConfigOption, console, err, load, sandbox_db
from inboxbridge.config import Settings
from inboxbridge.events import Direction, EventKind, InboundEvent
from inboxbridge.logs import configure_logging
from inboxbridge.service import Service
from inboxbridge.store import EventStatus


def send(
    tenant: Annotated[str, typer.Argument(help="The tenant (Wix site) to post to.")],
    text: Annotated[str, typer.Argument(help="The message text, or the activity line.")],
    email: Annotated[str | None, typer.Option(help="The customer's email.")] = None,
    phone: Annotated[str | None, typer.Option(help="The customer's phone, when no email is known.")] = None,
    activity: Annotated[bool, typer.Option("--activity", help="Post a MINIMAL activity line.")] = False,
    outbound: Annotated[
        bool, typer.Option("--outbound", help="The business wrote it (default: the customer).")
    ] = False,
    url: Annotated[str | None, typer.Option(help="Link of an activity.")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel badge, e.g. SMS.")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Deliver now and report the outcome.")] = True,
    config: ConfigOption = None,
) -> None:
    """Post one event from the command line (stored first, like a webhook, so nothing is lost)."""
    configure_logging("warning")
    settings = load(config)
    if tenant not in settings.tenants:
        err.print(f"unknown tenant {tenant!r}; configured: {', '.join(settings.tenants) or 'none'}")
        raise typer.Exit(2)
    try:
        event = InboundEvent(
            tenant=tenant,
            source="cli",
            kind=EventKind.ACTIVITY if activity else EventKind.MESSAGE,
            occurred_at=datetime.now(UTC),
            external_id=f"cli-{time.time_ns()}",
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            emails=(email,) if email else (),
            phone=phone,
            text=text,
            activity_url=url,
            channel=channel,
        )
    except ValueError as exc:
        err.print(f"invalid event: {exc}", highlight=False)
        raise typer.Exit(2) from None
    status = asyncio.run(_send(settings, event, wait))
    console.print(status, highlight=False)
    if status.startswith("dead"):
        raise typer.Exit(1)


async def _send(settings: Settings, event: InboundEvent, wait: bool) -> str:
    service = Service(settings, run_worker=wait, sandbox_database=sandbox_db(settings))
    await service.start()
    try:
        (result,) = await service.store.queue.ingest([event])
        if result.parked:
            return (
                f"stored as event {result.event_id}, parked: the Wix app of {event.tenant} was removed from its site; "
                "it is delivered once the app is installed again"
            )
        if not wait:
            return f"stored as event {result.event_id}; a running worker will deliver it"
        deadline = time.monotonic() + 120
        last_error: str | None = None
        while time.monotonic() < deadline:
            row = await service.store.ledger.get_event(result.event_id)
            assert row is not None
            last_error = row.last_error
            if row.status is EventStatus.DELIVERED:
                return f"delivered: event {row.id} → conversation {row.conversation_id}, message {row.wix_message_id}"
            if row.status is EventStatus.DEAD:
                return f"dead-lettered: {row.last_error}"
            await asyncio.sleep(0.1)
        return f"event {result.event_id} is still pending (last error: {last_error}); it stays stored"
    finally:
        await service.stop()
