"""The configuration inboxbridge runs with when given none, and the webhooks ``inboxbridge demo`` sends.

Tenant ``demo`` writes into the built-in sandbox's demo site and has three sources, each signed as real providers
sign: a chat tool (HMAC-SHA256 hex in ``x-signature``), an SMS gateway (Standard Webhooks) and a booking tool
whose events land as activities (HMAC-SHA256 base64).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

__all__ = ["DEMO_CONFIG", "DemoWebhook", "demo_webhooks"]

CHAT_SECRET = "demo-chat-secret"  # noqa: S105 - published demo credential
SMS_SECRET = "whsec_" + base64.b64encode(b"demo-sms-secret-32-bytes-long!!!").decode()
BOOKING_SECRET = "demo-booking-secret"  # noqa: S105 - published demo credential

DEMO_CONFIG: dict[str, Any] = {
    "tenants": {
        "demo": {
            "sources": {
                "chat": {
                    "type": "generic",
                    "verify": "hmac-sha256",
                    "secret": CHAT_SECRET,
                    "signature_header": "x-signature",
                    "signature_prefix": "sha256=",
                    "mapping": {
                        "event_id": "id",
                        "occurred_at": "sent_at",
                        "email": "customer.email",
                        "name": "customer.name",
                        "text": "text",
                        "direction": "author",
                        "direction_map": {"customer": "inbound", "agent": "outbound"},
                        "default_channel": "Chat",
                    },
                },
                "sms": {
                    "type": "generic",
                    "verify": "standard-webhooks",
                    "secret": SMS_SECRET,
                    "mapping": {
                        "event_id": "data.id",
                        "occurred_at": "timestamp",
                        "email": "data.contact.email",
                        "phone": "data.contact.phone",
                        "name": "data.contact.name",
                        "text": "data.body",
                        "direction": "type",
                        "direction_map": {"sms.received": "inbound", "sms.sent": "outbound"},
                        "default_channel": "SMS",
                    },
                },
                "bookings": {
                    "type": "generic",
                    "verify": "hmac-sha256",
                    "secret": BOOKING_SECRET,
                    "signature_header": "x-booking-signature",
                    "signature_encoding": "base64",
                    "mapping": {
                        "event_id": "id",
                        "occurred_at": "created_at",
                        "default_kind": "activity",
                        "email": "invitee.email",
                        "name": "invitee.name",
                        "text": "join('', ['Booking made: ', booking.service, ' on ', booking.starts_at])",
                        "activity_url": "booking.url",
                    },
                    "delivery": {"activity_icon_url": "https://static.wixstatic.com/media/calendar-icon.png"},
                },
            }
        }
    }
}


@dataclass(frozen=True)
class DemoWebhook:
    """One signed request to send to ``/hooks/demo/<source>``."""

    source: str
    body: bytes
    headers: dict[str, str]
    summary: str


def _chat(event_id: str, at: datetime, author: str, text: str) -> DemoWebhook:
    body = orjson.dumps(
        {
            "id": event_id,
            "sent_at": at.isoformat(),
            "author": author,
            "customer": {"email": "ana.silva@example.com", "name": "Ana Silva"},
            "text": text,
        }
    )
    digest = hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-signature": f"sha256={digest}"}
    return DemoWebhook("chat", body, headers, f"chat ({author}): {text}")


def _sms(event_id: str, at: datetime, kind: str, text: str) -> DemoWebhook:
    body = orjson.dumps(
        {
            "type": kind,
            "timestamp": at.isoformat(),
            "data": {
                "id": event_id,
                "body": text,
                "contact": {"email": "ben.okafor@example.com", "phone": "+15551230000", "name": "Ben Okafor"},
            },
        }
    )
    msg_id = f"msg_{event_id}"
    stamp = str(int(time.time()))
    key = base64.b64decode(SMS_SECRET.removeprefix("whsec_"))
    signed = f"{msg_id}.{stamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,{signature}",
    }
    return DemoWebhook("sms", body, headers, f"SMS ({kind}): {text}")


def _booking(event_id: str, at: datetime) -> DemoWebhook:
    body = orjson.dumps(
        {
            "id": event_id,
            "created_at": at.isoformat(),
            "invitee": {"email": "ana.silva@example.com", "name": "Ana Silva"},
            "booking": {
                "service": "Haircut",
                "starts_at": "Fri 10:00",
                "url": "https://bookings.example.com/b/1042",
            },
        }
    )
    signature = base64.b64encode(hmac.new(BOOKING_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {"content-type": "application/json", "x-booking-signature": signature}
    return DemoWebhook("bookings", body, headers, "booking: Haircut on Fri 10:00")


def demo_webhooks(now: datetime | None = None) -> list[DemoWebhook]:
    """A chat exchange in both directions, an SMS exchange, and a booking: the requests providers would send."""
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    run = start.strftime("%Y%m%d%H%M%S")

    def at(minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    return [
        _chat(f"chat-{run}-1", at(0), "customer", "Hi! Do you have any slots for a haircut this week?"),
        _chat(f"chat-{run}-2", at(0.5), "agent", "Hi Ana, yes: Friday at 10:00 is free. Shall I book it?"),
        _chat(f"chat-{run}-3", at(1), "customer", "Yes please!"),
        _booking(f"booking-{run}", at(1.5)),
        _sms(f"sms-{run}-1", at(2), "sms.received", "Hello, is my order #1042 ready for pickup?"),
        _sms(f"sms-{run}-2", at(2.5), "sms.sent", "Hi Ben, it is! We are open until 6pm today."),
    ]
