"""What lands in the conversation: a BASIC message or a MINIMAL activity line, shaped by the delivery settings."""

from __future__ import annotations

from inboxbridge.config import DeliverySettings
from inboxbridge.events import Attachment, AttachmentKind, Direction
from inboxbridge.pipeline import MemoryIdCache
from inboxbridge.wix import Badge, BadgeVisibility, FileItem, ImageItem, Message, MinimalContent, TextItem, Visibility
from inboxbridge.wix import Direction as WixDirection

from .fake_wix import FakeSite
from .support import ANN, activity, deliver, message


async def test_a_message_is_basic_with_its_items_direction_and_the_delivery_settings(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann", emails=[ANN])
    event = message(
        "Your order shipped.",
        direction=Direction.OUTBOUND,
        title="Order 1001",
        channel="Chat",
        attachments=(
            Attachment(kind=AttachmentKind.IMAGE, url="https://cdn.example/label.png", width=640, height=480),
            Attachment(kind=AttachmentKind.FILE, url="https://cdn.example/invoice.pdf", mime_type="application/pdf"),
        ),
    )
    delivery = DeliverySettings(
        visibility="BUSINESS_AND_PARTICIPANT",
        badge_text="Shop chat",
        badge_visibility="BUSINESS_AND_PARTICIPANT",
        send_notifications=True,
    )

    await deliver(site, cache, event, delivery=delivery)

    # As sent: Wix re-hosts the media of what it stores.
    sent: Message = site.args("send_message")[0]["message"]
    assert sent.content.minimal is None
    assert sent.content.basic is not None
    assert sent.content.basic.items == [
        TextItem(text="Your order shipped."),
        ImageItem(url="https://cdn.example/label.png", width=640, height=480),
        FileItem(url="https://cdn.example/invoice.pdf", mime_type="application/pdf"),
    ]
    assert (sent.content.title, sent.content.preview_text) == ("Order 1001", "Order 1001: Your order shipped.")
    assert sent.direction is WixDirection.BUSINESS_TO_PARTICIPANT
    assert sent.visibility is Visibility.BUSINESS_AND_PARTICIPANT
    assert sent.badges == [Badge(text="Shop chat", badge_visibility=BadgeVisibility.BUSINESS_AND_PARTICIPANT)]
    assert site.args("send_message")[0]["send_notifications"] is True


async def test_a_customer_message_is_participant_to_business_and_business_only_by_default(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann", emails=[ANN])

    await deliver(site, cache, message("Hi", channel="SMS"))

    [sent] = site.messages_of("ann")
    assert sent.direction is WixDirection.PARTICIPANT_TO_BUSINESS
    assert sent.visibility is Visibility.BUSINESS
    assert [b.text for b in sent.badges] == ["SMS"]  # the event's channel when no badge text is set
    assert site.args("send_message")[0]["send_notifications"] is False


async def test_an_activity_is_one_minimal_line_with_the_delivery_icon_when_it_brings_none(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann", emails=[ANN])
    event = activity("Payment received: €42.00", activity_url="https://pay.example/p/1")

    await deliver(site, cache, event, delivery=DeliverySettings(activity_icon_url="https://cdn.example/pay.svg"))

    [sent] = site.messages_of("ann")
    assert sent.content.basic is None
    assert sent.content.minimal == MinimalContent(
        text="Payment received: €42.00", icon_url="https://cdn.example/pay.svg", url="https://pay.example/p/1"
    )
    assert sent.direction is WixDirection.PARTICIPANT_TO_BUSINESS
