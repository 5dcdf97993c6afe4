"""Wix's answers read as leniently as Wix's SDK types them: every response field is optional there and enums have
``UNKNOWN_*`` values, so the client takes what the flow needs (message id and sequence, contact ids, the
conversation id) and tolerates the rest missing, unknown, or odd. A message Wix has stored is never treated as a
failure because the answer said little about it."""

from __future__ import annotations

import pytest

from inboxbridge.wix import (
    BadgeVisibility,
    BasicContent,
    Direction,
    Message,
    MessageContent,
    MinimalContent,
    TextItem,
    Visibility,
    WixPermanentError,
    WixSite,
)

from .fakes import FakeWix, reply


def text_message(text: str = "hi") -> Message:
    return Message(
        content=MessageContent(basic=BasicContent(items=[TextItem(text=text)])),
        direction=Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Visibility.BUSINESS_AND_PARTICIPANT,
    )


@pytest.mark.parametrize(
    ("answer", "message_id", "sequence"),
    [
        ({"message": {"id": "m-1", "sequence": "17"}}, "m-1", "17"),
        ({"message": {"id": "m-1"}}, "m-1", None),
        ({"message": {}}, None, None),
        ({}, None, None),
    ],
)
async def test_a_send_answered_2xx_with_little_in_it_is_a_sent_message(
    site: WixSite, fake: FakeWix, answer: dict[str, object], message_id: str | None, sequence: str | None
) -> None:
    fake.on("POST", "/inbox/v2/messages", reply(200, answer))

    sent = await site.send_message("conv-1", text_message())

    assert (sent.id, sent.sequence) == (message_id, sequence)
    assert sent.direction is Direction.UNKNOWN_DIRECTION
    assert sent.content.kinds == []


async def test_unknown_enum_values_read_as_unknown(site: WixSite, fake: FakeWix) -> None:
    odd = {
        "id": "m-2",
        "direction": "SIDEWAYS",
        "visibility": "EVERYONE_ELSE",
        "content": {"minimal": {"text": "Booked"}},
        "badges": [{"text": "SMS", "badgeVisibility": "SOMETIMES"}],
    }
    fake.on("POST", "/inbox/v2/messages", reply(200, {"message": odd}))

    sent = await site.send_message("conv-1", text_message())

    assert (sent.direction, sent.visibility) == (Direction.UNKNOWN_DIRECTION, Visibility.UNKNOWN_VISIBILITY)
    assert sent.badges[0].badge_visibility is BadgeVisibility.UNKNOWN_BADGE_VISIBILITY
    assert sent.content.minimal == MinimalContent(text="Booked")


async def test_one_odd_message_never_fails_a_list_messages_page(site: WixSite, fake: FakeWix) -> None:
    messages = [
        {"id": "m-3", "direction": "PARTICIPANT_TO_BUSINESS", "content": {"basic": {"items": [{"text": "hi"}]}}},
        {"id": "m-4"},
        {"id": "m-5", "content": {"basic": {}}, "direction": "UNKNOWN_DIRECTION"},
        {"id": "m-6", "content": "not an object"},
        "not a message",
        {"id": "m-7", "content": {"minimal": {}}, "badges": [{}]},
    ]
    fake.on("GET", "/inbox/v2/messages", reply(200, {"messages": messages}))

    page = await site.list_messages("conv-1")

    assert [m.id for m in page.messages] == ["m-3", "m-4", "m-5", "m-7"]
    assert page.messages[0].content.basic == BasicContent(items=[TextItem(text="hi")])
    assert page.messages[1].visibility is Visibility.UNKNOWN_VISIBILITY
    assert page.next_cursor is None


async def test_an_empty_list_messages_answer_is_an_empty_last_page(site: WixSite, fake: FakeWix) -> None:
    fake.on("GET", "/inbox/v2/messages", reply(200, {}))
    page = await site.list_messages("conv-1")
    assert (page.messages, page.next_cursor) == ([], None)


async def test_query_contacts_reads_contact_ids_from_a_minimal_answer(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/contacts/v4/contacts/query", reply(200, {"contacts": [{"id": "c-1"}, {}, {"id": "c-2"}]}))

    page = await site.query_contacts(fields=["id"])

    assert [c.id for c in page.contacts] == ["c-1", "c-2"]
    assert (page.count, page.offset, page.total) == (3, 0, None)


async def test_a_conversation_answer_needs_only_the_conversation_id(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/inbox/v2/conversations", reply(200, {"conversation": {"id": "conv-9"}}))
    result = await site.get_or_create_conversation("c-1")
    assert (result.conversation.id, result.new_conversation) == ("conv-9", False)


async def test_a_conversation_answer_without_its_id_is_a_clear_error(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/inbox/v2/conversations", reply(200, {"conversation": {}}))
    with pytest.raises(WixPermanentError, match="does not have the expected shape"):
        await site.get_or_create_conversation("c-1")


async def test_what_is_sent_is_still_checked_on_the_way_out(site: WixSite, fake: FakeWix) -> None:
    with pytest.raises(ValueError, match="exactly one of basic"):
        await site.send_message("conv-1", Message(direction=Direction.PARTICIPANT_TO_BUSINESS))
    with pytest.raises(ValueError, match="at least one item"):
        await site.send_message(
            "conv-1", text_message().model_copy(update={"content": MessageContent(basic=BasicContent())})
        )
    with pytest.raises(ValueError, match="direction and visibility"):
        await site.send_message("conv-1", text_message().model_copy(update={"direction": Direction.UNKNOWN_DIRECTION}))
    assert fake.requests == []
