"""Shared pieces for the provider tests: requests, realistic payloads and the configs that map them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inboxbridge.providers import WebhookRequest

FIXTURES = Path(__file__).parent / "fixtures"
RECEIVED_AT = datetime(2026, 11, 3, 12, 0, 30, tzinfo=UTC)

RequestFactory = Callable[..., WebhookRequest]


def _request(
    body: bytes | Mapping[str, Any] | list[Any],
    headers: Mapping[str, str] | None = None,
    received_at: datetime = RECEIVED_AT,
) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(
        method="POST",
        url="https://bridge.example/hooks/acme/chat",
        path="/hooks/acme/chat",
        query={},
        headers=dict(headers or {"content-type": "application/json"}),
        body=raw,
        received_at=received_at,
    )


@pytest.fixture
def received_at() -> datetime:
    """When the test requests arrived."""
    return RECEIVED_AT


@pytest.fixture
def make_request() -> RequestFactory:
    """Build a POST request from a body (bytes or JSON-able) and optional headers."""
    return _request


@pytest.fixture
def payload() -> Callable[[str], Any]:
    """Load a realistic provider payload from tests/providers/fixtures/<name>.json."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / f"{name}.json").read_text())

    return load


@pytest.fixture
def chat_mapping() -> dict[str, Any]:
    """The mapping of a chat tool's message webhook (fixtures/chat_message.json)."""
    return {
        "event_id": "data.message.id",
        "occurred_at": "created_at",
        "kind": "type",
        "kind_map": {"message.created": "message", "conversation.typing": "ignore"},
        "direction": "data.message.author.role",
        "direction_map": {"user": "inbound", "agent": "outbound"},
        "email": "data.message.author.email",
        "phone": "data.message.author.phone",
        "name": "data.message.author.name",
        "text": "data.message.body",
        "attachments": "data.message.attachments",
        "channel": "data.channel",
    }


@pytest.fixture
def batch_mapping() -> dict[str, Any]:
    """The mapping of an SMS tool that posts events in batches (fixtures/sms_batch.json)."""
    return {
        "events": "events",
        "event_id": "event_id",
        "occurred_at": "timestamp",
        "direction": "direction",
        "direction_map": {"in": "inbound", "out": "outbound"},
        "email": "contact.emails",
        "phone": "from",
        "first_name": "contact.first",
        "last_name": "contact.last",
        "text": "text",
        "default_channel": "SMS",
    }


@pytest.fixture
def booking_mapping() -> dict[str, Any]:
    """The mapping of a booking tool's "booking created" webhook (fixtures/booking_created.json)."""
    return {
        "event_id": "booking.id",
        "occurred_at": "booking.created",
        "default_kind": "activity",
        "email": "booking.customer.email",
        "first_name": "booking.customer.first_name",
        "last_name": "booking.customer.last_name",
        "title": "'Booking created'",
        "text": "join('', ['Booked: ', booking.service, ' on ', booking.starts_at])",
        "activity_url": "booking.links.admin",
        "activity_icon_url": "booking.links.icon",
        "default_channel": "Bookings",
    }
