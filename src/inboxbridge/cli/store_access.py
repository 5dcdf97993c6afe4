"""Opening the configured store from a command, with a plain-words error and exit status 1 when it cannot be."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import typer

from inboxbridge.cli.common import err
from inboxbridge.config import Settings
from inboxbridge.store import SchemaVersionError, Store, StoreUnavailable

__all__ = ["open_store"]


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """The store of ``settings`` (its schema must be current), closed afterwards."""
    try:
        store = await Store.open(settings.database_url, migrate=False)
    except (StoreUnavailable, SchemaVersionError) as exc:
        err.print(f"cannot open the store: {exc}", highlight=False)
        raise typer.Exit(1) from None
    try:
        yield store
    finally:
        await store.close()
