"""Events, settings and one delivery call for the pipeline tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inboxbridge.config import DeliverySettings, PolicySettings
from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.pipeline import MemoryIdCache, Pipeline, Posted

from .fake_wix import START, FakeSite

TENANT = "shop"
ANN = "ann@example.com"


def message(text: str = "Hello", *, email: str | None = ANN, **fields: Any) -> InboundEvent:
    """A chat message from the customer (``email=None`` for one known by phone only)."""
    return InboundEvent(
        tenant=TENANT,
        source="chat",
        kind=EventKind.MESSAGE,
        occurred_at=START,
        emails=(email,) if email else (),
        text=text,
        **fields,
    )


def activity(text: str, *, email: str = ANN, **fields: Any) -> InboundEvent:
    """An activity line about the customer."""
    return InboundEvent(
        tenant=TENANT, source="shop", kind=EventKind.ACTIVITY, occurred_at=START, emails=(email,), text=text, **fields
    )


async def deliver(
    site: FakeSite,
    cache: MemoryIdCache,
    event: InboundEvent,
    *,
    delivery: DeliverySettings | None = None,
    unsure_since: datetime | None = None,
    **policy: Any,
) -> list[Posted]:
    """One delivery attempt of ``event``, with ``PolicySettings(**policy)``."""
    return await Pipeline(cache).deliver(
        site,  # type: ignore[arg-type]  # FakeSite has the WixSite methods the pipeline calls
        event,
        policy=PolicySettings(**policy),
        delivery=delivery or DeliverySettings(),
        unsure_since=unsure_since,
    )


def texts(messages: list[Any]) -> list[str]:
    """The text of each BASIC message (the first item's)."""
    return [m.content.basic.items[0].text for m in messages]
