"""Whatever arrives, a source answers with events or a SourceError, never with a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inboxbridge.events import InboundEvent
from inboxbridge.providers import SourceError, WebhookRequest
from inboxbridge.providers.generic import GenericSource, GenericSourceConfig

RECEIVED_AT = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
PROPERTY = settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHAT = {
    "event_id": "data.message.id",
    "occurred_at": "created_at",
    "kind": "type",
    "kind_map": {"message.created": "message", "booking": "activity", "typing": "ignore"},
    "direction": "data.message.author.role",
    "direction_map": {"user": "inbound", "agent": "outbound"},
    "email": "data.message.author.email",
    "phone": "data.message.author.phone",
    "name": "data.message.author.name",
    "first_name": "data.message.author.first",
    "text": "data.message.body",
    "title": "data.title",
    "attachments": "data.message.attachments",
    "activity_url": "data.link",
    "activity_icon_url": "data.icon",
    "channel": "data.channel",
}
BATCH = {**CHAT, "events": "events"}
FUNCTIONS = {
    "events": "items[?kind != 'skip']",
    "email": "[email, contact.emails[0]][0]",
    "phone": "to_string(contact.phone)",
    "text": "join(' ', parts)",
    "title": "upper(title)",
    "occurred_at": "max_by(times, &at).at",
    "name": "contact.names | [0]",
    "event_id": "length(id)",
}

SOURCES = [
    GenericSourceConfig(verify="none", allow_unsigned=True, mapping=mapping).build("prop")
    for mapping in (CHAT, BATCH, FUNCTIONS, {"email": "@", "text": "@"})
]

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
emails = st.sampled_from(["ada@example.com", "A@B.example", "not-an-email", "", " x@y.z "])
times = st.sampled_from(["2026-11-03T12:00:00Z", "1793707200", "1793707200123", "soon", "9" * 30]) | scalars
urls = st.sampled_from(["https://cdn.example/a.png", "http://x.example/f.pdf", "ftp://x/y", "javascript:x", ""])
attachment = st.fixed_dictionaries(
    {"url": urls | json_values},
    optional={"filename": json_values, "mimeType": json_values, "kind": json_values, "width": json_values},
)


def leaf(specific: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the plausible value, sometimes any JSON at all: most events get far, each may break anywhere."""
    return st.integers(0, 9).flatmap(lambda n: json_values if n == 0 else specific)


chat_event = st.fixed_dictionaries(
    {
        "type": leaf(st.sampled_from(["message.created", "booking", "typing", "activity", "other"])),
        "created_at": leaf(times),
        "data": leaf(
            st.fixed_dictionaries(
                {
                    "channel": leaf(st.text(max_size=80)),
                    "title": leaf(st.text(max_size=300)),
                    "link": leaf(urls),
                    "icon": leaf(urls),
                    "message": leaf(
                        st.fixed_dictionaries(
                            {
                                "id": json_values,
                                "body": leaf(st.text(max_size=50)),
                                "attachments": leaf(st.lists(leaf(attachment) | urls, max_size=3)),
                                "author": leaf(
                                    st.fixed_dictionaries(
                                        {
                                            "role": leaf(st.sampled_from(["user", "agent", "bot"])),
                                            "email": leaf(emails | st.lists(emails, max_size=3)),
                                            "phone": leaf(st.text(max_size=70)),
                                            "name": leaf(st.text(max_size=300)),
                                            "first": json_values,
                                        }
                                    )
                                ),
                            }
                        )
                    ),
                }
            )
        ),
    }
)
bodies = (
    chat_event
    | st.fixed_dictionaries({"events": leaf(st.lists(chat_event | json_values, max_size=3))})
    | st.fixed_dictionaries({"items": json_values, "email": leaf(emails), "parts": json_values, "times": json_values})
    | json_values
)


def request(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest("POST", "https://bridge.example/h", "/h", {}, headers or {}, body, RECEIVED_AT)


def outcome(source: GenericSource, body: bytes) -> None:
    refusal: SourceError | None = None
    try:
        events = source.parse(request(body), tenant="acme")
    except SourceError as error:
        refusal, events = error, []
    if refusal is not None:
        assert (refusal.status, bool(refusal.reason)) == (400, True)
    for event in events:
        assert InboundEvent.from_json(event.to_json()) == event


@PROPERTY
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes(body: bytes) -> None:
    for source in SOURCES:
        outcome(source, body)


@PROPERTY
@given(value=bodies)
def test_arbitrary_json(value: Any) -> None:
    body = json.dumps(value).encode()
    for source in SOURCES:
        outcome(source, body)


header_names = st.sampled_from(
    ["x-signature", "webhook-id", "webhook-timestamp", "webhook-signature", "content-type"]
) | st.text(max_size=10)


@PROPERTY
@given(headers=st.dictionaries(header_names, st.text(max_size=60), max_size=5), body=st.binary(max_size=60))
def test_verification_of_arbitrary_requests(headers: dict[str, str], body: bytes) -> None:
    sources = [
        GenericSourceConfig(secret="s3cret!", mapping=CHAT).build("h"),
        GenericSourceConfig(secret="s3cret!", signature_encoding="base64", mapping=CHAT).build("b"),
        GenericSourceConfig(verify="standard-webhooks", secret="whsec_c2VjcmV0", mapping=CHAT).build(
            "sw", clock=lambda: RECEIVED_AT
        ),
    ]
    statuses = []
    for source in sources:
        try:
            source.verify(request(body, headers))
        except SourceError as error:
            statuses.append(error.status)
    assert set(statuses) <= {401}
