"""What the client puts on the wire for each call, and how it reads Wix's answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inboxbridge.wix import (
    Badge,
    BasicContent,
    ContactsPage,
    Direction,
    FileItem,
    ImageItem,
    Message,
    MessageContent,
    MinimalContent,
    PrimaryInfo,
    RawResponse,
    SendAs,
    Sort,
    TextItem,
    Visibility,
    WixSite,
)

from .conftest import API_KEY, SITE_ID
from .fakes import FakeWix, Sent, reply

CONTACT = {
    "id": "c-1",
    "revision": 3,
    "createdDate": "2024-05-01T10:00:00.000Z",
    "primaryInfo": {"email": "a@b.com"},
    "info": {"emails": {"items": [{"tag": "MAIN", "email": "a@b.com"}, {"tag": "WORK", "email": "w@b.com"}]}},
    "somethingNew": {"x": 1},
}
WIRE_MESSAGE = {
    "id": "m-1",
    "content": {"basic": {"items": [{"text": "hi"}]}},
    "direction": "PARTICIPANT_TO_BUSINESS",
    "visibility": "BUSINESS",
    "sequence": "1700000000001",
    "createdDate": "2024-05-01T10:00:00Z",
    "sourceChannel": "CHAT",
}


def text_message(text: str = "hi") -> Message:
    return Message(
        content=MessageContent(basic=BasicContent(items=[TextItem(text=text)])),
        direction=Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Visibility.BUSINESS,
    )


async def test_query_contacts_sends_wix_query_body_with_api_key_headers(site: WixSite, fake: FakeWix) -> None:
    fake.on(
        "POST",
        "/contacts/v4/contacts/query",
        reply(200, {"contacts": [CONTACT], "pagingMetadata": {"count": 1, "offset": 0, "total": 1}}),
    )

    page = await site.query_contacts(filter={"info.emails.email": {"$eq": "a@b.com"}}, fields=["id"], limit=100)

    (request,) = fake.requests
    assert request.json() == {
        "query": {
            "filter": {"info.emails.email": {"$eq": "a@b.com"}},
            "fields": ["id"],
            "paging": {"limit": 100, "offset": 0},
        }
    }
    assert request.headers["authorization"] == API_KEY
    assert request.headers["wix-site-id"] == SITE_ID
    assert request.headers["content-type"] == "application/json"
    assert page == ContactsPage(contacts=page.contacts, count=1, offset=0, total=1)
    contact = page.contacts[0]
    assert contact.id == "c-1"
    assert contact.revision == 3
    assert contact.created_date == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert contact.primary_info == PrimaryInfo(email="a@b.com")
    assert contact.emails == ["a@b.com", "w@b.com"]


async def test_query_contacts_sort_and_no_filter(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/contacts/v4/contacts/query", reply(200, {"contacts": []}))

    page = await site.query_contacts(sort=Sort(field_name="createdDate", order="DESC"), limit=5, offset=10)

    assert fake.bodies("POST", "/contacts/v4/contacts/query") == [
        {
            "query": {
                "sort": [{"fieldName": "createdDate", "order": "DESC"}],
                "paging": {"limit": 5, "offset": 10},
            }
        }
    ]
    assert (page.contacts, page.count, page.offset, page.total) == ([], 0, 10, None)


async def test_find_contacts_by_email_follows_every_page(site: WixSite, fake: FakeWix) -> None:
    everyone = [{"id": f"c-{i}", "revision": 1} for i in range(250)]

    async def answer(request: Sent) -> RawResponse:
        paging = request.json()["query"]["paging"]
        start, size = paging["offset"], paging["limit"]
        chunk = everyone[start : start + size]
        return reply(200, {"contacts": chunk, "pagingMetadata": {"count": len(chunk), "offset": start, "total": 250}})

    fake.on("POST", "/contacts/v4/contacts/query", answer)

    found = await site.find_contacts_by_email("a@b.com", fields=["id"])

    assert [c.id for c in found] == [c["id"] for c in everyone]
    bodies = fake.bodies("POST", "/contacts/v4/contacts/query")
    assert [b["query"]["paging"] for b in bodies] == [
        {"limit": 100, "offset": 0},
        {"limit": 100, "offset": 100},
        {"limit": 100, "offset": 200},
    ]
    assert all(b["query"]["filter"] == {"info.emails.email": {"$eq": "a@b.com"}} for b in bodies)


async def test_find_contacts_stops_on_exact_last_page_and_drops_repeats(site: WixSite, fake: FakeWix) -> None:
    fake.on(
        "POST",
        "/contacts/v4/contacts/query",
        reply(200, {"contacts": [{"id": "x"}, {"id": "y"}], "pagingMetadata": {"count": 2, "total": 4}}),
        reply(200, {"contacts": [{"id": "y"}, {"id": "z"}], "pagingMetadata": {"count": 2, "total": 4}}),
    )

    found = await site.find_contacts_by_email("a@b.com", page_size=2)

    assert [c.id for c in found] == ["x", "y", "z"]
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("method", "field"),
    [
        ("find_contacts_by_phone", "info.phones.e164Phone"),
        ("find_contacts_by_primary_email", "primaryInfo.email"),
    ],
)
async def test_other_finders_filter_on_their_field(site: WixSite, fake: FakeWix, method: str, field: str) -> None:
    fake.on("POST", "/contacts/v4/contacts/query", reply(200, {"contacts": [{"id": "c-1"}]}))

    found = await getattr(site, method)("v", fields=["id"])

    assert [c.id for c in found] == ["c-1"]
    assert fake.bodies("POST", "/contacts/v4/contacts/query")[0]["query"]["filter"] == {field: {"$eq": "v"}}


async def test_find_contacts_by_typed_phone_asks_for_any_of_the_forms(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/contacts/v4/contacts/query", reply(200, {"contacts": [{"id": "c-1"}]}))

    found = await site.find_contacts_by_typed_phone(["020 7946 0958", "+442079460958"], fields=["id"])

    assert [c.id for c in found] == ["c-1"]
    assert fake.bodies("POST", "/contacts/v4/contacts/query")[0]["query"]["filter"] == {
        "info.phones.phone": {"$in": ["020 7946 0958", "+442079460958"]}
    }
    assert await site.find_contacts_by_typed_phone([]) == []
    assert len(fake.requests) == 1


async def test_create_contact_body(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/contacts/v4/contacts", reply(200, {"contact": CONTACT}))

    contact = await site.create_contact(email="a@b.com", first_name="Ann", phone="+15551234567")

    assert contact.id == "c-1"
    assert fake.bodies("POST", "/contacts/v4/contacts") == [
        {
            "info": {
                "name": {"first": "Ann"},
                "emails": {"items": [{"tag": "MAIN", "email": "a@b.com"}]},
                "phones": {"items": [{"tag": "MOBILE", "phone": "+15551234567"}]},
            },
            "allowDuplicates": False,
        }
    ]


async def test_create_contact_needs_something_to_create(site: WixSite, fake: FakeWix) -> None:
    with pytest.raises(ValueError, match="email, a phone or a name"):
        await site.create_contact()
    assert fake.requests == []


async def test_create_contact_sends_the_phone_s_country_code(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/contacts/v4/contacts", reply(200, {"contact": CONTACT}))

    await site.create_contact(phone="+14155550142", phone_country="US")

    [body] = fake.bodies("POST", "/contacts/v4/contacts")
    assert body["info"]["phones"] == {"items": [{"tag": "MOBILE", "phone": "+14155550142", "countryCode": "US"}]}


async def test_get_contact_reads_merged_result(site: WixSite, fake: FakeWix) -> None:
    fake.on("GET", "/contacts/v4/contacts/old%2Fid", reply(200, {"contact": CONTACT, "responseType": "MERGED"}))

    result = await site.get_contact("old/id")

    # An id is one path segment, whatever it contains.
    assert fake.requests[0].path == "/contacts/v4/contacts/old%2Fid"
    assert result.contact.id == "c-1"
    assert result.response_type == "MERGED"


async def test_get_or_create_conversation(site: WixSite, fake: FakeWix) -> None:
    fake.on(
        "POST",
        "/inbox/v2/conversations",
        reply(
            200,
            {"conversation": {"id": "conv-1", "participant": {"contactId": "c-1"}}, "newConversation": True},
        ),
    )

    result = await site.get_or_create_conversation(contact_id="c-1")

    assert fake.bodies("POST", "/inbox/v2/conversations") == [{"participantId": {"contactId": "c-1"}}]
    assert result.new_conversation is True
    assert result.conversation.id == "conv-1"
    assert result.conversation.participant is not None
    assert result.conversation.participant.contact_id == "c-1"


async def test_get_or_create_conversation_wants_exactly_one_participant(site: WixSite) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await site.get_or_create_conversation(contact_id="c", member_id="m")
    with pytest.raises(ValueError, match="exactly one"):
        await site.get_or_create_conversation()


async def test_get_conversation(site: WixSite, fake: FakeWix) -> None:
    fake.on("GET", "/inbox/v2/conversations/conv-1", reply(200, {"conversation": {"id": "conv-1"}}))

    conversation = await site.get_conversation("conv-1")

    assert conversation.id == "conv-1"


async def test_send_message_nests_direction_and_visibility_in_message(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/inbox/v2/messages", reply(200, {"message": WIRE_MESSAGE}))
    message = Message(
        content=MessageContent(
            basic=BasicContent(
                items=[
                    TextItem(text="hi"),
                    ImageItem(url="https://cdn.example/i.png", width=10),
                    FileItem(url="https://cdn.example/f.pdf", filename="f.pdf", mime_type="application/pdf"),
                ]
            )
        ),
        direction=Direction.PARTICIPANT_TO_BUSINESS,
        visibility=Visibility.BUSINESS,
        badges=[Badge(text="SMS", icon_url="https://cdn.example/sms.png")],
        silent=True,
    )

    sent = await site.send_message("conv-1", message, send_as=SendAs.PARTICIPANT)

    assert fake.bodies("POST", "/inbox/v2/messages") == [
        {
            "conversationId": "conv-1",
            "message": {
                "content": {
                    "basic": {
                        "items": [
                            {"text": "hi"},
                            {"image": {"url": "https://cdn.example/i.png", "width": 10}},
                            {
                                "file": {
                                    "url": "https://cdn.example/f.pdf",
                                    "filename": "f.pdf",
                                    "mimeType": "application/pdf",
                                }
                            },
                        ]
                    }
                },
                "direction": "PARTICIPANT_TO_BUSINESS",
                "visibility": "BUSINESS",
                "badges": [{"text": "SMS", "iconUrl": "https://cdn.example/sms.png"}],
                "silent": True,
            },
            "sendNotifications": False,
            "sendAs": "PARTICIPANT",
        }
    ]
    assert sent.id == "m-1"
    assert sent.sequence == "1700000000001"
    assert sent.created_date is not None
    assert sent.source_channel == "CHAT"


async def test_send_minimal_message_leaves_out_unset_fields(site: WixSite, fake: FakeWix) -> None:
    fake.on("POST", "/inbox/v2/messages", reply(200, {"message": WIRE_MESSAGE}))
    message = Message(
        content=MessageContent(minimal=MinimalContent(text="Order #12 shipped", icon_url="https://cdn.example/i.png")),
        direction=Direction.BUSINESS_TO_PARTICIPANT,
        visibility=Visibility.BUSINESS,
    )

    await site.send_message("conv-1", message, send_notifications=True)

    assert fake.bodies("POST", "/inbox/v2/messages") == [
        {
            "conversationId": "conv-1",
            "message": {
                "content": {"minimal": {"text": "Order #12 shipped", "iconUrl": "https://cdn.example/i.png"}},
                "direction": "BUSINESS_TO_PARTICIPANT",
                "visibility": "BUSINESS",
            },
            "sendNotifications": True,
        }
    ]


async def test_send_message_refuses_malformed_messages_before_sending(site: WixSite, fake: FakeWix) -> None:
    two_kinds = text_message()
    two_kinds.content.minimal = MinimalContent(text="x")
    with pytest.raises(ValueError, match="exactly one"):
        await site.send_message("conv-1", two_kinds)
    two_badges = text_message()
    two_badges.badges = [Badge(text="a"), Badge(text="b")]
    with pytest.raises(ValueError, match="at most one badge"):
        await site.send_message("conv-1", two_badges)
    assert fake.requests == []


async def test_list_messages_query_parameters_and_cursor(site: WixSite, fake: FakeWix) -> None:
    fake.on(
        "GET",
        "/inbox/v2/messages",
        reply(
            200,
            {
                "messages": [WIRE_MESSAGE],
                "pagingMetadata": {"count": 1, "cursors": {"next": "abc"}, "hasNext": True},
            },
        ),
        reply(200, {"messages": [], "pagingMetadata": {"count": 0, "cursors": {}, "hasNext": False}}),
    )

    first = await site.list_messages("conv-1", limit=10)
    second = await site.list_messages("conv-1", limit=10, cursor=first.next_cursor)

    params = [r.params for r in fake.requests]
    assert params == [
        {"conversationId": "conv-1", "visibility": "BUSINESS", "paging.limit": "10"},
        {"conversationId": "conv-1", "visibility": "BUSINESS", "paging.limit": "10", "paging.cursor": "abc"},
    ]
    assert [m.id for m in first.messages] == ["m-1"]
    assert first.next_cursor == "abc"
    assert second.messages == []
    assert second.next_cursor is None


async def test_unknown_message_item_kinds_are_kept_raw(site: WixSite, fake: FakeWix) -> None:
    odd = dict(WIRE_MESSAGE, content={"basic": {"items": [{"video": {"url": "v"}}, {"text": "t"}]}})
    fake.on("GET", "/inbox/v2/messages", reply(200, {"messages": [odd]}))

    page = await site.list_messages("conv-1")

    assert page.messages[0].content.basic is not None
    assert page.messages[0].content.basic.items == [{"video": {"url": "v"}}, TextItem(text="t")]
    assert page.next_cursor is None
