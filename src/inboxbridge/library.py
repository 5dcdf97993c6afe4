"""The Wix flow from your own async code, without the service: one call per message or activity.

    async with InboxBridge(ApiKeyAuth(api_key="...", site_id="...")) as bridge:
        await bridge.post_message("ana@example.com", "Hi, is my order ready?", channel="SMS")
        await bridge.post_activity("ana@example.com", "Booking made: Fri 10:00", url="https://...")

The same contact and conversation policies as the service apply; ids are cached in memory. Nothing is stored or
retried beyond the client's short retries: failures raise :class:`~inboxbridge.pipeline.DeliveryFailed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from inboxbridge.config import DeliverySettings, PolicySettings
from inboxbridge.events import Attachment, Direction, EventKind, InboundEvent
from inboxbridge.pipeline import MemoryIdCache, Pipeline, Posted
from inboxbridge.wix import DEFAULT_BASE_URL, Auth, WixClient

__all__ = ["InboxBridge"]

LIBRARY_TENANT = "library"


class InboxBridge:
    """Posts messages and activities into the Wix Inbox conversation of a customer given by email (or phone)."""

    def __init__(
        self,
        auth: Auth,
        *,
        base_url: str = DEFAULT_BASE_URL,
        policy: PolicySettings | None = None,
        delivery: DeliverySettings | None = None,
        client: WixClient | None = None,
    ) -> None:
        self._own_client = client is None
        self.client = client or WixClient(base_url)
        self.site = self.client.site(auth)
        self.policy = policy or PolicySettings()
        self.delivery = delivery or DeliverySettings()
        self.pipeline = Pipeline(MemoryIdCache())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the Wix client if this bridge created it."""
        if self._own_client:
            await self.client.aclose()

    async def post_message(
        self,
        email: str | None,
        text: str | None,
        *,
        phone: str | None = None,
        direction: Direction | str = Direction.INBOUND,
        title: str | None = None,
        attachments: Sequence[Attachment] = (),
        channel: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        delivery: DeliverySettings | None = None,
    ) -> list[Posted]:
        """Post a BASIC message: ``direction`` ``inbound`` for the customer's words, ``outbound`` for the
        business's. Returns one :class:`Posted` per contact the policy picked."""
        event = InboundEvent(
            tenant=LIBRARY_TENANT,
            source="library",
            kind=EventKind.MESSAGE,
            occurred_at=datetime.now(UTC),
            direction=Direction(direction),
            emails=(email,) if email else (),
            phone=phone,
            first_name=first_name,
            last_name=last_name,
            text=text,
            title=title,
            attachments=tuple(attachments),
            channel=channel,
        )
        return await self._deliver(event, delivery)

    async def post_activity(
        self,
        email: str | None,
        text: str,
        *,
        phone: str | None = None,
        url: str | None = None,
        icon_url: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        delivery: DeliverySettings | None = None,
    ) -> list[Posted]:
        """Post a MINIMAL activity line (booking made, payment received, call missed...) with an optional link."""
        event = InboundEvent(
            tenant=LIBRARY_TENANT,
            source="library",
            kind=EventKind.ACTIVITY,
            occurred_at=datetime.now(UTC),
            emails=(email,) if email else (),
            phone=phone,
            first_name=first_name,
            last_name=last_name,
            text=text,
            activity_url=url,
            activity_icon_url=icon_url,
        )
        return await self._deliver(event, delivery)

    async def _deliver(self, event: InboundEvent, delivery: DeliverySettings | None) -> list[Posted]:
        return await self.pipeline.deliver(
            self.site, event, policy=self.policy, delivery=delivery or self.delivery
        )
