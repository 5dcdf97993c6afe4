"""The generic source turns realistic provider JSON into events and refuses bad payloads, saying why."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from inboxbridge.events import MAX_TEXT, AttachmentKind, Direction, EventKind
from inboxbridge.providers import PayloadError, SourceError, WebhookRequest
from inboxbridge.providers.generic import GenericSource, GenericSourceConfig

RequestFactory = Callable[..., WebhookRequest]


def unsigned(mapping: dict[str, Any], name: str = "chat") -> GenericSource:
    return GenericSourceConfig(verify="none", allow_unsigned=True, mapping=mapping).build(name)


def reason_of(source: GenericSource, request: Any) -> str:
    with pytest.raises(PayloadError) as caught:
        source.parse(request, tenant="acme")
    assert caught.value.status == 400
    return caught.value.reason


# --- realistic payloads -------------------------------------------------------------------------------------


def test_chat_message_becomes_one_inbound_message(
    make_request: RequestFactory, payload: Callable[[str], Any], chat_mapping: dict[str, Any]
) -> None:
    body = payload("chat_message")
    [event] = unsigned(chat_mapping).parse(make_request(body), tenant="acme")

    assert event.tenant == "acme"
    assert event.source == "chat"
    assert event.kind is EventKind.MESSAGE
    assert event.direction is Direction.INBOUND
    assert event.external_id == "msg_7781"
    assert event.occurred_at == datetime(2026, 11, 3, 11, 58, 21, 512000, tzinfo=UTC)
    assert event.emails == ("Ada@Example.com",)
    assert event.email == "ada@example.com"
    assert event.phone == "+44 20 7946 0018"
    assert (event.first_name, event.last_name) == ("Ada", "King Lovelace")
    assert event.text == "Hi! Is the blue teapot back in stock?"
    assert event.channel == "web-widget"
    image, pdf = event.attachments
    assert (image.kind, image.url, image.filename, image.mime_type) == (
        AttachmentKind.IMAGE,
        "https://cdn.chat.example/f/teapot.jpg",
        "teapot.jpg",
        "image/jpeg",
    )
    assert (image.width, image.height) == (800, 600)
    assert (pdf.kind, pdf.filename, pdf.mime_type) == (AttachmentKind.FILE, "receipt.pdf", "application/pdf")
    assert event.raw == body


def test_agent_reply_is_outbound(
    make_request: RequestFactory, payload: Callable[[str], Any], chat_mapping: dict[str, Any]
) -> None:
    body = payload("chat_message")
    body["data"]["message"]["author"]["role"] = "agent"
    [event] = unsigned(chat_mapping).parse(make_request(body), tenant="acme")
    assert event.direction is Direction.OUTBOUND


def test_ignored_kind_yields_no_event(make_request: RequestFactory, chat_mapping: dict[str, Any]) -> None:
    body = {"type": "conversation.typing", "data": {"message": {"author": {}}}}
    assert unsigned(chat_mapping).parse(make_request(body), tenant="acme") == []


def test_batch_becomes_events_in_body_order(
    make_request: RequestFactory, payload: Callable[[str], Any], batch_mapping: dict[str, Any]
) -> None:
    body = payload("sms_batch")
    first, second, third = unsigned(batch_mapping, "sms").parse(make_request(body), tenant="acme")

    assert [e.external_id for e in (first, second, third)] == ["sms-1001", "sms-1002", "sms-1003"]
    assert first.occurred_at == datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    assert second.occurred_at == datetime(2026, 11, 3, 12, 1, tzinfo=UTC)
    assert third.occurred_at == datetime(2026, 11, 3, 12, 2, tzinfo=UTC)
    assert first.emails == ("grace@example.org", "g.hopper@navy.example")
    assert (first.first_name, first.last_name) == ("Grace", "Hopper")
    assert [e.direction for e in (first, second, third)] == [
        Direction.INBOUND,
        Direction.OUTBOUND,
        Direction.INBOUND,
    ]
    assert third.emails == ()
    assert third.customer_key == "phone:+15557654321"
    assert {e.channel for e in (first, second, third)} == {"SMS"}
    assert third.raw == body["events"][2]


def test_empty_batch_is_accepted_as_no_events(make_request: RequestFactory, batch_mapping: dict[str, Any]) -> None:
    assert unsigned(batch_mapping).parse(make_request({"events": []}), tenant="acme") == []


def test_booking_created_becomes_an_activity_with_a_link(
    make_request: RequestFactory, payload: Callable[[str], Any], booking_mapping: dict[str, Any]
) -> None:
    [event] = unsigned(booking_mapping, "bookings").parse(make_request(payload("booking_created")), tenant="acme")

    assert event.kind is EventKind.ACTIVITY
    assert event.title == "Booking created"
    assert event.text == "Booked: Deep tissue massage, 60 min on 2026-11-10T15:00:00Z"
    assert event.activity_url == "https://bookings.example/admin/bk_5521"
    assert event.activity_icon_url == "https://bookings.example/static/icon.png"
    assert event.occurred_at == datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    assert event.channel == "Bookings"
    assert event.external_id == "bk_5521"


# --- mapping features ---------------------------------------------------------------------------------------


def minimal(**extra: Any) -> dict[str, Any]:
    return {"email": "email", "text": "text", **extra}


def one(mapping: dict[str, Any], body: Any, make_request: RequestFactory) -> Any:
    [event] = unsigned(mapping).parse(make_request(body), tenant="acme")
    return event


def test_defaults_when_optional_fields_are_not_mapped(make_request: RequestFactory, received_at: datetime) -> None:
    event = one(minimal(), {"email": "a@b.example", "text": "hello"}, make_request)
    assert event.kind is EventKind.MESSAGE
    assert event.direction is Direction.INBOUND
    assert event.occurred_at == received_at
    assert event.external_id is not None and event.external_id.startswith("content:")
    assert event.channel is None


def test_configured_defaults_apply(make_request: RequestFactory) -> None:
    mapping = minimal(default_kind="activity", default_direction="outbound", default_channel="Shop")
    event = one(mapping, {"email": "a@b.example", "text": "Order shipped"}, make_request)
    assert (event.kind, event.direction, event.channel) == (EventKind.ACTIVITY, Direction.OUTBOUND, "Shop")


def test_kind_and_direction_pass_through_their_own_names(make_request: RequestFactory) -> None:
    mapping = minimal(kind="k", direction="d")
    body = {"email": "a@b.example", "text": "x", "k": "activity", "d": "outbound"}
    event = one(mapping, body, make_request)
    assert (event.kind, event.direction) == (EventKind.ACTIVITY, Direction.OUTBOUND)


def test_kind_expression_finding_nothing_uses_default_kind(make_request: RequestFactory) -> None:
    event = one(minimal(kind="k", default_kind="activity"), {"email": "a@b.example", "text": "x"}, make_request)
    assert event.kind is EventKind.ACTIVITY


def test_map_keys_match_numbers_and_booleans(make_request: RequestFactory) -> None:
    mapping = minimal(direction="from_agent", direction_map={"true": "outbound", "false": "inbound"})
    body = {"email": "a@b.example", "text": "x", "from_agent": True}
    assert one(mapping, body, make_request).direction is Direction.OUTBOUND
    mapping = minimal(kind="code", kind_map={"2": "activity"})
    assert one(mapping, {"email": "a@b.example", "text": "x", "code": 2}, make_request).kind is EventKind.ACTIVITY


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-03T12:00:00Z", datetime(2026, 11, 3, 12, tzinfo=UTC)),
        ("2026-11-03T13:00:00+01:00", datetime(2026, 11, 3, 12, tzinfo=UTC)),
        ("2026-11-03T12:00:00", datetime(2026, 11, 3, 12, tzinfo=UTC)),
        (1793707200, datetime(2026, 11, 3, 12, tzinfo=UTC)),
        (1793707200.25, datetime(2026, 11, 3, 12, 0, 0, 250000, tzinfo=UTC)),
        ("1793707200", datetime(2026, 11, 3, 12, tzinfo=UTC)),
        (1793707200123, datetime(2026, 11, 3, 12, 0, 0, 123000, tzinfo=UTC)),
        ("1793707200123", datetime(2026, 11, 3, 12, 0, 0, 123000, tzinfo=UTC)),
    ],
)
def test_occurred_at_forms(value: Any, expected: datetime, make_request: RequestFactory) -> None:
    event = one(minimal(occurred_at="at"), {"email": "a@b.example", "text": "x", "at": value}, make_request)
    assert event.occurred_at == expected


def test_occurred_at_finding_nothing_uses_received_at(make_request: RequestFactory, received_at: datetime) -> None:
    event = one(minimal(occurred_at="at"), {"email": "a@b.example", "text": "x"}, make_request)
    assert event.occurred_at == received_at


def test_name_is_split_when_first_and_last_are_not_mapped(make_request: RequestFactory) -> None:
    event = one(
        minimal(name="who"),
        {"email": "a@b.example", "text": "x", "who": "Ludwig van Beethoven"},
        make_request,
    )
    assert (event.first_name, event.last_name) == ("Ludwig", "van Beethoven")
    event = one(minimal(name="who"), {"email": "a@b.example", "text": "x", "who": "Cher"}, make_request)
    assert (event.first_name, event.last_name) == ("Cher", None)


def test_mapped_first_and_last_name_win_over_the_full_name(make_request: RequestFactory) -> None:
    mapping = minimal(name="who", first_name="given", last_name="family")
    body = {"email": "a@b.example", "text": "x", "who": "Ada Lovelace", "given": "Augusta", "family": "King"}
    event = one(mapping, body, make_request)
    assert (event.first_name, event.last_name) == ("Augusta", "King")
    body.pop("family")
    assert one(mapping, body, make_request).last_name == "Lovelace"


def test_email_list_skips_nulls_and_duplicates(make_request: RequestFactory) -> None:
    body = {"email": ["a@b.example", None, "", "A@B.example", "c@d.example"], "text": "x"}
    assert one(minimal(), body, make_request).emails == ("a@b.example", "c@d.example")


def test_phone_alone_names_the_customer(make_request: RequestFactory) -> None:
    mapping = {"phone": "msisdn", "text": "text"}
    event = one(mapping, {"msisdn": 15551230001, "text": "x"}, make_request)
    assert event.phone == "15551230001"
    assert event.customer_key == "phone:15551230001"


def test_numeric_event_id_becomes_a_string(make_request: RequestFactory) -> None:
    event = one(minimal(event_id="id"), {"email": "a@b.example", "text": "x", "id": 98765}, make_request)
    assert event.external_id == "98765"
    assert event.idempotency_key() == "id:98765"


def test_attachment_urls_and_kinds(make_request: RequestFactory) -> None:
    mapping = {"email": "email", "attachments": "files"}
    body = {
        "email": "a@b.example",
        "files": [
            "https://cdn.example/photo.PNG?size=large",
            "https://cdn.example/report.pdf",
            {"url": "https://cdn.example/blob/1", "mimeType": "image/webp"},
            {"url": "https://cdn.example/blob/2", "mime_type": "text/csv", "name": "export.csv"},
            {"url": "https://cdn.example/blob/3", "kind": "image"},
            {"url": "https://cdn.example/blob/4.jpg", "kind": "file"},
            {"url": "https://cdn.example/blob/5", "filename": "scan.jpeg"},
            None,
        ],
    }
    event = one(mapping, body, make_request)
    assert event.text is None
    assert [a.kind for a in event.attachments] == [
        AttachmentKind.IMAGE,
        AttachmentKind.FILE,
        AttachmentKind.IMAGE,
        AttachmentKind.FILE,
        AttachmentKind.IMAGE,
        AttachmentKind.FILE,
        AttachmentKind.IMAGE,
    ]
    assert event.attachments[3].filename == "export.csv"
    assert event.attachments[2].mime_type == "image/webp"


def test_a_single_attachment_object_is_accepted(make_request: RequestFactory) -> None:
    body = {"email": "a@b.example", "file": {"url": "https://cdn.example/a.gif", "contentType": "image/gif"}}
    event = one({"email": "email", "attachments": "file"}, body, make_request)
    assert [(a.kind, a.mime_type) for a in event.attachments] == [(AttachmentKind.IMAGE, "image/gif")]


def test_long_text_is_cut_to_the_event_limit(make_request: RequestFactory) -> None:
    event = one(minimal(), {"email": "a@b.example", "text": "x" * (MAX_TEXT + 500)}, make_request)
    assert event.text is not None
    assert len(event.text) == MAX_TEXT
    assert event.text.endswith("…")


def test_channel_expression_wins_over_default_channel(make_request: RequestFactory) -> None:
    mapping = minimal(channel="via", default_channel="Web")
    assert one(mapping, {"email": "a@b.example", "text": "x", "via": "WhatsApp"}, make_request).channel == "WhatsApp"
    assert one(mapping, {"email": "a@b.example", "text": "x"}, make_request).channel == "Web"


def test_header_names_are_lower_cased(make_request: RequestFactory) -> None:
    request = make_request({"email": "a@b.example", "text": "x"}, headers={"X-Signature": "abc"})
    assert request.headers == {"x-signature": "abc"}


# --- error reasons ------------------------------------------------------------------------------------------


def test_no_customer(make_request: RequestFactory) -> None:
    source = unsigned({"email": "customer.email", "text": "text"})
    assert reason_of(source, make_request({"text": "hi"})) == (
        'mapping "email" (customer.email) found nothing: the event names no customer; map "email" or "phone"'
    )


def test_no_customer_with_email_and_phone_mapped(make_request: RequestFactory) -> None:
    source = unsigned({"email": "c.email", "phone": "c.phone", "text": "text"})
    assert reason_of(source, make_request({"text": "hi", "c": {"email": None, "phone": " "}})) == (
        'mapping "email" (c.email) and "phone" (c.phone) found nothing: the event names no customer; '
        'map "email" or "phone"'
    )


def test_message_without_text_or_attachments(make_request: RequestFactory) -> None:
    source = unsigned({"email": "email", "text": "msg.body", "attachments": "msg.files"})
    assert reason_of(source, make_request({"email": "a@b.example", "msg": {"body": "  "}})) == (
        'mapping "text" (msg.body) and "attachments" (msg.files) found nothing: '
        "a message needs text or at least one attachment"
    )


def test_activity_without_text(make_request: RequestFactory) -> None:
    source = unsigned({"email": "email", "text": "summary", "default_kind": "activity"})
    assert reason_of(source, make_request({"email": "a@b.example"})) == (
        'mapping "text" (summary) found nothing: an activity needs a text (the line shown in the Inbox)'
    )


def test_activity_when_only_attachments_are_mapped(make_request: RequestFactory) -> None:
    source = unsigned({"email": "email", "attachments": "files", "kind": "k"})
    body = {"email": "a@b.example", "k": "activity", "files": ["https://cdn.example/a.png"]}
    assert reason_of(source, make_request(body)) == (
        'mapping "text" is not set, so it found nothing: an activity needs a text (the line shown in the Inbox)'
    )


def test_invalid_email(make_request: RequestFactory) -> None:
    source = unsigned({"email": "customer.email", "text": "text"})
    reason = reason_of(source, make_request({"customer": {"email": "ada at example"}, "text": "hi"}))
    assert reason == (
        'mapping "email" (customer.email) gave ["ada at example"]: not an email address: \'ada at example\''
    )


def test_email_of_the_wrong_type(make_request: RequestFactory) -> None:
    source = unsigned({"email": "customer.email", "text": "text"})
    reason = reason_of(source, make_request({"customer": {"email": {"work": "a@b.example"}}, "text": "hi"}))
    assert reason == (
        'mapping "email" (customer.email) gave {"work":"a@b.example"}, which holds an object, not an email address'
    )


def test_unmapped_kind(make_request: RequestFactory, chat_mapping: dict[str, Any]) -> None:
    body = {"type": "conversation.closed", "data": {"message": {"author": {"email": "a@b.example"}}}}
    assert reason_of(unsigned(chat_mapping), make_request(body)) == (
        'mapping "kind" (type) gave "conversation.closed", which is not "message" or "activity" '
        'and not in kind_map (it lists "message.created", "conversation.typing")'
    )


def test_unmapped_direction(make_request: RequestFactory) -> None:
    source = unsigned(minimal(direction="by"))
    assert reason_of(source, make_request({"email": "a@b.example", "text": "x", "by": "bot"})) == (
        'mapping "direction" (by) gave "bot", which is not "inbound" or "outbound" '
        "and not in direction_map (it lists nothing)"
    )


def test_kind_that_is_not_a_single_value(make_request: RequestFactory) -> None:
    source = unsigned(minimal(kind="k"))
    assert reason_of(source, make_request({"email": "a@b.example", "text": "x", "k": ["a"]})) == (
        'mapping "kind" (k) gave ["a"], which is a list, not a single value'
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "yesterday",
            'mapping "occurred_at" (at) gave "yesterday", which is not a time '
            "(ISO 8601, or unix seconds or milliseconds)",
        ),
        (True, 'mapping "occurred_at" (at) gave true, which is a boolean, not a time'),
        (1e300, 'mapping "occurred_at" (at) gave 1e+300, which is out of range for a unix time'),
    ],
)
def test_bad_occurred_at(value: Any, reason: str, make_request: RequestFactory) -> None:
    source = unsigned(minimal(occurred_at="at"))
    assert reason_of(source, make_request({"email": "a@b.example", "text": "x", "at": value})) == reason


def test_event_id_of_the_wrong_type(make_request: RequestFactory) -> None:
    source = unsigned(minimal(event_id="id"))
    assert reason_of(source, make_request({"email": "a@b.example", "text": "x", "id": {"n": 1}})) == (
        'mapping "event_id" (id) gave {"n":1}, which is an object, not an id (a string or an integer)'
    )


def test_text_of_the_wrong_type(make_request: RequestFactory) -> None:
    source = unsigned(minimal())
    assert reason_of(source, make_request({"email": "a@b.example", "text": {"html": "<b>x</b>"}})) == (
        'mapping "text" (text) gave {"html":"<b>x</b>"}, which is an object, not text'
    )


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        (["ftp://cdn.example/a.png"], "whose item #1 has a bad url: attachment url must be an http(s) URL"),
        ([{"filename": "a.png"}], 'whose item #1 has no "url"'),
        (["https://cdn.example/a.png", 7], "whose item #2 is a number, not a URL or an object with a url"),
    ],
)
def test_bad_attachments(files: list[Any], reason: str, make_request: RequestFactory) -> None:
    source = unsigned({"email": "email", "attachments": "files"})
    got = reason_of(source, make_request({"email": "a@b.example", "files": files}))
    assert got.startswith('mapping "attachments" (files) gave ')
    assert got.endswith(reason)


def test_activity_url_must_be_http(make_request: RequestFactory) -> None:
    source = unsigned(minimal(activity_url="link"))
    body = {"email": "a@b.example", "text": "x", "link": "javascript:alert(1)"}
    assert reason_of(source, make_request(body)) == (
        'mapping "activity_url" (link) gave "javascript:alert(1)", which is not an http(s) URL'
    )


def test_event_field_too_long(make_request: RequestFactory) -> None:
    source = unsigned(minimal(phone="tel"))
    reason = reason_of(source, make_request({"email": "a@b.example", "text": "x", "tel": "5" * 80}))
    assert reason.startswith('mapping "phone" (tel) gave "555')
    assert reason.endswith(": String should have at most 64 characters")


def test_expression_that_fails_on_this_payload(make_request: RequestFactory) -> None:
    source = unsigned(minimal(title="join(', ', tags)"))
    reason = reason_of(source, make_request({"email": "a@b.example", "text": "x", "tags": 5}))
    assert reason.startswith("mapping \"title\" (join(', ', tags)) could not be evaluated: ")
    assert "invalid type" in reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "body is not valid JSON: the body is empty"),
        (b"  \n", "body is not valid JSON: the body is empty"),
        (b'{"text": "caf\xe9"}', "body is not valid JSON: it is not UTF-8 text (bad byte at 13)"),
        (
            b"email=a%40b.example&text=hi",
            "body is not valid JSON: unexpected character, expected a JSON value: line 1 column 1 (char 0)",
        ),
        (
            b'{"email": "a@b.example",',
            "body is not valid JSON: unexpected end of data: line 1 column 25 (char 24)",
        ),
    ],
)
def test_body_that_is_not_json(body: bytes, reason: str, make_request: RequestFactory) -> None:
    assert reason_of(unsigned(minimal()), make_request(body)) == reason


def test_body_that_is_not_an_object(make_request: RequestFactory) -> None:
    assert reason_of(unsigned(minimal()), make_request([{"email": "a@b.example", "text": "x"}])) == (
        'the body is a list, not a JSON object; map "events" to select the event objects'
    )


def test_events_expression_finding_nothing(make_request: RequestFactory, batch_mapping: dict[str, Any]) -> None:
    assert reason_of(unsigned(batch_mapping), make_request({"data": []})) == (
        'mapping "events" (events) found nothing: expected the list of events'
    )


def test_events_expression_finding_an_object(make_request: RequestFactory, batch_mapping: dict[str, Any]) -> None:
    assert reason_of(unsigned(batch_mapping), make_request({"events": {"event_id": "1"}})) == (
        'mapping "events" (events) gave an object, not a list of events'
    )


def test_batch_item_that_is_not_an_object(make_request: RequestFactory, batch_mapping: dict[str, Any]) -> None:
    assert reason_of(unsigned(batch_mapping), make_request({"events": [{"from": "+1555"}, "oops"]})) == (
        'mapping "events" (events) item #2 is a string, not an event object'
    )


def test_one_bad_event_refuses_the_whole_batch(
    make_request: RequestFactory, payload: Callable[[str], Any], batch_mapping: dict[str, Any]
) -> None:
    body = payload("sms_batch")
    body["events"][1]["timestamp"] = "soon"
    assert reason_of(unsigned(batch_mapping), make_request(body)) == (
        'event #2 of 3: mapping "occurred_at" (timestamp) gave "soon", which is not a time '
        "(ISO 8601, or unix seconds or milliseconds)"
    )


def test_bad_tenant_is_a_payload_error_not_a_crash(make_request: RequestFactory) -> None:
    with pytest.raises(SourceError) as caught:
        unsigned(minimal()).parse(make_request({"email": "a@b.example", "text": "x"}), tenant="")
    assert caught.value.reason == "tenant: String should have at least 1 character"


def test_raw_is_json_serializable_event_object(make_request: RequestFactory, batch_mapping: dict[str, Any]) -> None:
    body = {"events": [{"event_id": "e1", "from": "+1555", "text": "hi", "extra": {"n": [1, 2.5, None]}}]}
    [event] = unsigned(batch_mapping).parse(make_request(json.dumps(body).encode()), tenant="acme")
    assert event.raw == body["events"][0]
    assert json.loads(event.to_json())["raw"] == body["events"][0]
