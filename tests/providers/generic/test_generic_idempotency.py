"""With no ``event_id`` mapped, a redelivered webhook gets the same event id, so it is stored once: Standard
Webhooks' ``webhook-id`` where the source verifies that way (docs/sources/generic.md's own example maps no id),
else the content of the event, never the time it arrived."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook

from inboxbridge.providers import WebhookRequest
from inboxbridge.providers.generic import GenericSource, GenericSourceConfig

RECEIVED_AT = datetime(2026, 11, 3, 12, 0, 30, tzinfo=UTC)
"""When tests/providers/conftest.py's requests arrive."""
RequestFactory = Callable[..., WebhookRequest]

SECRET = "whsec_" + base64.b64encode(b"generic-idempotency-secret").decode()
MAPPING = {"email": "email", "text": "text"}


def standard(mapping: dict[str, Any] = MAPPING, *, later: float = 0) -> GenericSource:
    """A Standard Webhooks source whose clock reads ``later`` seconds after RECEIVED_AT."""
    config = GenericSourceConfig(verify="standard-webhooks", secret=SECRET, mapping=mapping)
    return config.build("chat", clock=lambda: RECEIVED_AT + timedelta(seconds=later))


def unsigned(mapping: dict[str, Any] = MAPPING) -> GenericSource:
    return GenericSourceConfig(verify="none", allow_unsigned=True, mapping=mapping).build("chat")


def signed(make_request: RequestFactory, body: Any, message_id: str, *, later: float = 0) -> WebhookRequest:
    """``body`` signed by the Standard Webhooks reference library, as the sender signs delivery ``message_id``."""
    raw = json.dumps(body).encode()
    at = RECEIVED_AT + timedelta(seconds=later)
    signature = Webhook(SECRET).sign(message_id, at, raw.decode())
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}
    return make_request(raw, headers, received_at=at)


def ids(source: GenericSource, request: WebhookRequest) -> list[str | None]:
    source.verify(request)
    return [event.external_id for event in source.parse(request, tenant="acme")]


def test_a_standard_webhooks_retry_keeps_its_webhook_id(make_request: RequestFactory) -> None:
    body = {"email": "ada@example.com", "text": "hello"}
    first = ids(standard(), signed(make_request, body, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"))
    retry = ids(standard(later=290), signed(make_request, body, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", later=290))
    other = ids(standard(), signed(make_request, body, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4X"))
    assert first == retry == ["msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"]
    # The same words sent again as a new message are a new event.
    assert other == ["msg_2KWPBgLlAfxdpx2AI54pPJ85f4X"]


def test_each_event_of_a_standard_webhooks_batch_has_its_own_id(make_request: RequestFactory) -> None:
    body = {"items": [{"email": "a@example.com", "text": "one"}, {"email": "a@example.com", "text": "one"}]}
    source = standard({**MAPPING, "events": "items"})
    assert ids(source, signed(make_request, body, "msg_batch")) == ["msg_batch#1", "msg_batch#2"]


def test_without_a_delivery_id_the_content_is_the_id(make_request: RequestFactory) -> None:
    body = {"text": "hello", "email": "ada@example.com", "meta": {"b": 1, "a": [1, 2]}}
    reordered = {"meta": {"a": [1, 2], "b": 1}, "email": "ada@example.com", "text": "hello"}
    first = ids(unsigned(), make_request(body))
    later = ids(unsigned(), make_request(reordered, received_at=RECEIVED_AT + timedelta(hours=3)))
    changed = ids(unsigned(), make_request({**body, "text": "hello again"}))
    assert first == later
    assert first[0] is not None and first[0].startswith("content:")
    assert changed != first


def test_a_mapped_event_id_wins(make_request: RequestFactory) -> None:
    body = {"id": "evt_1", "email": "ada@example.com", "text": "hello"}
    assert ids(standard({**MAPPING, "event_id": "id"}), signed(make_request, body, "msg_x")) == ["evt_1"]


def test_content_nested_deeper_than_json_writers_go_still_gets_a_stable_id(make_request: RequestFactory) -> None:
    deep: Any = "bottom"
    for _ in range(400):
        deep = {"d": deep}
    raw = json.dumps({"email": "ada@example.com", "text": "hello", "deep": deep}).encode()
    first = ids(unsigned(), make_request(raw))
    again = ids(unsigned(), make_request(raw, received_at=RECEIVED_AT + timedelta(minutes=5)))
    assert first == again and first[0] is not None and first[0].startswith("content:")
