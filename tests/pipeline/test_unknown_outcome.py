"""Sends whose outcome is unknown: what ``maybe_posted`` says, and how the next attempt avoids a second copy."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inboxbridge.events import Attachment, AttachmentKind, InboundEvent
from inboxbridge.pipeline import DeliveryFailed, MemoryIdCache, Posted
from inboxbridge.wix import WixConnectionError, WixTimeoutError

from .fake_wix import FakeSite, connect_failure, read_timeout
from .support import ANN, deliver, message, texts


@pytest.fixture
def ann(site: FakeSite) -> str:
    return site.add_contact("ann", emails=[ANN])


async def test_a_message_already_there_is_not_sent_again(site: FakeSite, cache: MemoryIdCache, ann: str) -> None:
    first_try = site.now
    site.fail("send_message", read_timeout(), applied=True)  # stored, but the answer was lost
    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message())
    assert failed.value.maybe_posted is True
    site.now += timedelta(minutes=1)
    site.calls.clear()

    posted = await deliver(site, cache, message(), unsure_since=first_try)

    [stored] = site.messages_of(ann)
    assert posted == [Posted(ann, site.conversation_of(ann), stored.id, already_there=True)]
    assert site.names() == ["list_messages"]


@pytest.mark.parametrize("filename", ["label.png", None])
async def test_a_message_with_media_already_there_is_found_though_wix_rehosted_its_files(
    site: FakeSite, cache: MemoryIdCache, ann: str, filename: str | None
) -> None:
    event = message(
        "Here is the label",
        attachments=(
            Attachment(kind=AttachmentKind.IMAGE, url="https://cdn.example/label.png", filename=filename),
            Attachment(kind=AttachmentKind.FILE, url="https://cdn.example/invoice.pdf", filename="invoice.pdf"),
        ),
    )
    first_try = site.now
    site.fail("send_message", read_timeout(), applied=True)
    with pytest.raises(DeliveryFailed):
        await deliver(site, cache, event)
    site.now += timedelta(minutes=1)
    site.calls.clear()

    posted = await deliver(site, cache, event, unsure_since=first_try)

    [stored] = site.messages_of(ann)
    assert stored.content.basic is not None and "wixstatic" in str(stored.content.basic.items[1])
    assert posted == [Posted(ann, site.conversation_of(ann), stored.id, already_there=True)]
    assert site.names() == ["list_messages"]


async def test_a_message_whose_files_differ_is_not_taken_for_ours(
    site: FakeSite, cache: MemoryIdCache, ann: str
) -> None:
    def with_file(name: str) -> InboundEvent:
        attachment = Attachment(kind=AttachmentKind.FILE, url=f"https://cdn.example/{name}", filename=name)
        return message("Invoice attached", attachments=(attachment,))

    await deliver(site, cache, with_file("march.pdf"))
    first_try = site.now

    await deliver(site, cache, with_file("april.pdf"), unsure_since=first_try)

    assert len(site.messages_of(ann)) == 2


async def test_a_message_not_there_is_sent_once(site: FakeSite, cache: MemoryIdCache, ann: str) -> None:
    first_try = site.now
    site.fail("send_message", read_timeout())  # lost before Wix stored it
    with pytest.raises(DeliveryFailed):
        await deliver(site, cache, message())
    site.now += timedelta(minutes=1)
    site.calls.clear()

    posted = await deliver(site, cache, message(), unsure_since=first_try)

    [stored] = site.messages_of(ann)
    assert posted == [Posted(ann, site.conversation_of(ann), stored.id)]
    assert site.names() == ["list_messages", "send_message"]


@pytest.mark.parametrize(
    ("seconds_before", "sent_again"),
    [
        pytest.param(4, False, id="within-the-skew-taken-for-ours"),
        pytest.param(6, True, id="older-an-earlier-equal-message"),
    ],
)
async def test_only_messages_from_unsure_since_minus_the_clock_skew_count(
    site: FakeSite, cache: MemoryIdCache, ann: str, seconds_before: int, sent_again: bool
) -> None:
    unsure_since = site.now
    site.now = unsure_since - timedelta(seconds=seconds_before)
    [earlier] = await deliver(site, cache, message("OK"))  # the customer said the same thing a moment before
    site.now = unsure_since + timedelta(minutes=1)
    site.calls.clear()

    [posted] = await deliver(site, cache, message("OK"), unsure_since=unsure_since)

    assert posted.already_there is not sent_again
    assert site.count("send_message") == (1 if sent_again else 0)
    assert texts(site.messages_of(ann)) == (["OK", "OK"] if sent_again else ["OK"])
    assert (posted.message_id == earlier.message_id) is not sent_again


async def test_a_timeout_after_the_request_left_may_have_posted(site: FakeSite, cache: MemoryIdCache, ann: str) -> None:
    site.fail("send_message", read_timeout())

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message())

    assert isinstance(failed.value.cause, WixTimeoutError)
    assert failed.value.cause.outcome_unknown is True
    assert failed.value.maybe_posted is True
    assert failed.value.posted == []


async def test_a_connect_failure_did_not_post(site: FakeSite, cache: MemoryIdCache, ann: str) -> None:
    site.fail("send_message", connect_failure())

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message())

    assert isinstance(failed.value.cause, WixConnectionError)
    assert failed.value.maybe_posted is False
    assert failed.value.posted == []
    assert site.messages_of(ann) == []


async def test_all_policy_failure_after_the_first_send_reports_the_first_as_posted(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann-1", emails=[ANN])
    site.add_contact("ann-2", emails=[ANN])
    site.fail("send_message", connect_failure(), on_call=2)

    with pytest.raises(DeliveryFailed) as failed:
        await deliver(site, cache, message(), contacts="all")

    [first] = site.messages_of("ann-1")
    assert failed.value.posted == [Posted("ann-1", site.conversation_of("ann-1"), first.id)]
    assert failed.value.maybe_posted is True  # the first send reached Wix, although the failing one did not
    assert site.messages_of("ann-2") == []


async def test_all_policy_retry_with_unsure_since_does_not_post_to_the_first_again(
    site: FakeSite, cache: MemoryIdCache
) -> None:
    site.add_contact("ann-1", emails=[ANN])
    site.add_contact("ann-2", emails=[ANN])
    first_try = site.now
    site.fail("send_message", connect_failure(), on_call=2)
    with pytest.raises(DeliveryFailed):
        await deliver(site, cache, message(), contacts="all")
    site.now += timedelta(minutes=1)
    site.calls.clear()

    posted = await deliver(site, cache, message(), contacts="all", unsure_since=first_try)

    assert [(p.contact_id, p.already_there) for p in posted] == [("ann-1", True), ("ann-2", False)]
    assert texts(site.messages_of("ann-1")) == texts(site.messages_of("ann-2")) == ["Hello"]
    assert [a["conversation_id"] for a in site.args("send_message")] == [site.conversation_of("ann-2")]


async def test_the_retry_looks_for_the_message_in_the_conversation_a_merge_made(
    site: FakeSite, cache: MemoryIdCache, ann: str
) -> None:
    first_try = site.now
    site.fail("send_message", read_timeout(), applied=True)
    with pytest.raises(DeliveryFailed):
        await deliver(site, cache, message())
    new = site.merge_conversation(site.conversation_of(ann))  # the history moves to the new conversation
    site.calls.clear()

    [posted] = await deliver(site, cache, message(), unsure_since=first_try)

    assert (posted.conversation_id, posted.already_there) == (new, True)
    assert site.names() == ["list_messages", "get_or_create_conversation", "list_messages"]
    assert texts(site.messages(new)) == ["Hello"]
