"""`inboxbridge replay EVENT_ID...`: dead events back to the queue."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from inboxbridge import dead_letters
from inboxbridge.cli.common import ConfigOption, console, err, load
from inboxbridge.cli.store_access import open_store
from inboxbridge.config import Settings


def replay(
    event_ids: Annotated[list[int], typer.Argument(help="Ids of dead events (see `inboxbridge dlq list`).")],
    config: ConfigOption = None,
) -> None:
    """Put dead events back in the queue, their retry schedule started over; a running worker delivers them."""
    settings = load(config)
    count = asyncio.run(_replay(settings, event_ids))
    console.print(f"replayed {count} of {len(set(event_ids))} event(s)")
    if count < len(set(event_ids)):
        err.print("the others are not dead letters (unknown ids, or already delivered or pending)")
        raise typer.Exit(1)


async def _replay(settings: Settings, event_ids: list[int]) -> int:
    async with open_store(settings) as store:
        return await dead_letters.replay(store.queue, event_ids, every=False, tenant=None, source=None)
