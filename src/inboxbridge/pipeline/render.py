"""Turn an :class:`InboundEvent` into the Wix message that represents it in the Inbox."""

from __future__ import annotations

from inboxbridge.config import DeliverySettings
from inboxbridge.events import AttachmentKind, Direction, EventKind, InboundEvent
from inboxbridge.wix import (
    Badge,
    BadgeVisibility,
    BasicContent,
    FileItem,
    ImageItem,
    Message,
    MessageContent,
    MinimalContent,
    TextItem,
    Visibility,
)
from inboxbridge.wix import Direction as WixDirection

__all__ = ["render"]

_DIRECTIONS = {
    Direction.INBOUND: WixDirection.PARTICIPANT_TO_BUSINESS,
    Direction.OUTBOUND: WixDirection.BUSINESS_TO_PARTICIPANT,
}
PREVIEW_MAX = 256


def render(event: InboundEvent, delivery: DeliverySettings) -> Message:
    """The message to send: BASIC (text, images, files) for a message, MINIMAL (one line) for an activity."""
    if event.kind is EventKind.ACTIVITY:
        assert event.text is not None
        content = MessageContent(
            minimal=MinimalContent(
                text=event.text,
                icon_url=event.activity_icon_url or delivery.activity_icon_url,
                url=event.activity_url,
            )
        )
    else:
        items: list[TextItem | ImageItem | FileItem] = []
        if event.text:
            items.append(TextItem(text=event.text))
        for attachment in event.attachments:
            if attachment.kind is AttachmentKind.IMAGE:
                items.append(
                    ImageItem(
                        url=attachment.url,
                        filename=attachment.filename,
                        width=attachment.width,
                        height=attachment.height,
                    )
                )
            else:
                items.append(FileItem(url=attachment.url, filename=attachment.filename, mime_type=attachment.mime_type))
        # The Inbox list shows previewText; with a subject, subject and first words say more than either alone.
        preview = _preview(f"{event.title}: {event.text}") if event.title and event.text else None
        content = MessageContent(basic=BasicContent(items=list(items)), title=event.title, preview_text=preview)
    return Message(
        content=content,
        direction=_DIRECTIONS[event.direction],
        visibility=Visibility(delivery.visibility),
        badges=_badges(event, delivery),
        silent=delivery.silent or event.silent or None,
    )


def _badges(event: InboundEvent, delivery: DeliverySettings) -> list[Badge]:
    text = delivery.badge_text or event.channel
    if not text:
        return []
    return [
        Badge(
            text=text,
            icon_url=delivery.badge_icon_url,
            badge_visibility=BadgeVisibility(delivery.badge_visibility),
        )
    ]


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_MAX else flat[: PREVIEW_MAX - 1] + "…"
