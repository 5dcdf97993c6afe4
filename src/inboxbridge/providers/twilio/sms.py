"""Twilio Messaging: inbound SMS/MMS (and WhatsApp) webhooks, and status callbacks of messages the business sent.

Twilio posts a form. The customer is whichever side of the message is not one of the business's own numbers;
pictures arrive as ``MediaUrl{N}`` / ``MediaContentType{N}``, a shared WhatsApp location as ``Latitude`` and
``Longitude`` (with ``Label`` and ``Address`` when the customer picked a place), the WhatsApp sender's name as
``ProfileName``.
"""

from __future__ import annotations

import math
from typing import Literal
from urllib.parse import quote

from pydantic import Field

from inboxbridge.events import Attachment, AttachmentKind, Direction, EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, WebhookRequest
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import make_attachment, make_event
from inboxbridge.providers.helpers.forms import flat_form, form_fields, form_value
from inboxbridge.providers.helpers.values import customer_phone, split_name, truncate
from inboxbridge.providers.twilio.signature import TwilioConfig, TwilioSource

__all__ = ["TwilioSmsSource", "TwilioSmsSourceConfig"]

CHANNEL = "SMS"
_WHATSAPP = "whatsapp:"
_INBOUND_STATUSES = frozenset({"received", "receiving", "accepted"})
_MAX_MEDIA = 10
_MAP_URL = "https://www.google.com/maps/search/?api=1&query="


class TwilioSmsSourceConfig(TwilioConfig):
    """A Twilio phone number's (or Messaging Service's) message webhook and status callback."""

    type: Literal["twilio_sms"] = "twilio_sms"
    sync_sent: bool = False
    """Also turn status callbacks of messages the business sent into outbound messages."""
    sent_statuses: list[str] = Field(default_factory=lambda: ["sent", "delivered"])
    """Status callbacks that count as sent; the first one of a message wins (the MessageSid makes the rest repeats)."""

    def build(self, name: str, *, clock: Clock | None = None) -> TwilioSmsSource:
        """The source this configuration describes, named ``name``."""
        return TwilioSmsSource(name, self)


def _address(raw: str) -> tuple[str, bool]:
    """(number, is WhatsApp): Twilio writes WhatsApp senders as ``whatsapp:+14155550123``."""
    if raw.lower().startswith(_WHATSAPP):
        return raw[len(_WHATSAPP) :], True
    return raw, False


def _media(fields: dict[str, list[str]]) -> tuple[Attachment, ...]:
    count_text = form_value(fields, "NumMedia") or "0"
    if not count_text.isdigit():
        raise PayloadError(f"NumMedia is {count_text!r}, not a number")
    attachments: list[Attachment] = []
    for index in range(min(int(count_text), _MAX_MEDIA)):
        url = form_value(fields, f"MediaUrl{index}")
        if url is None:
            raise PayloadError(f"NumMedia is {count_text} but MediaUrl{index} is missing")
        if not url.startswith(("https://", "http://")):
            raise PayloadError(f"MediaUrl{index} is not an http(s) URL")
        mime = form_value(fields, f"MediaContentType{index}")
        kind = AttachmentKind.IMAGE if mime and mime.lower().startswith("image/") else AttachmentKind.FILE
        attachments.append(make_attachment(f"MediaUrl{index}", kind=kind, url=url, mime_type=mime))
    return tuple(attachments)


def _coordinate(fields: dict[str, list[str]], name: str, limit: float) -> float:
    text = form_value(fields, name) or ""
    try:
        value = float(text)
    except ValueError:
        raise PayloadError(f"{name} is {text!r}, not a coordinate") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise PayloadError(f"{name} is {text!r}, outside -{limit:g} to {limit:g}")
    return value


def _location(fields: dict[str, list[str]]) -> str | None:
    """A shared location as a line of text and a map link; ``None`` when the message shares none."""
    if form_value(fields, "Latitude") is None and form_value(fields, "Longitude") is None:
        return None
    latitude, longitude = _coordinate(fields, "Latitude", 90), _coordinate(fields, "Longitude", 180)
    place = " · ".join(p for p in (form_value(fields, "Label"), form_value(fields, "Address")) if p)
    point = f"{latitude},{longitude}"
    return f"Location: {place or point}\n{_MAP_URL}{quote(point)}"


class TwilioSmsSource(TwilioSource[TwilioSmsSourceConfig]):
    """A source configured by :class:`TwilioSmsSourceConfig`."""

    def _direction(self, sender: str, recipient: str, status: str | None) -> Direction:
        if self.is_business(sender):
            return Direction.OUTBOUND
        if self.is_business(recipient):
            return Direction.INBOUND
        # No configured number on either side: an inbound webhook has no status beyond "received".
        return Direction.INBOUND if status is None or status in _INBOUND_STATUSES else Direction.OUTBOUND

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One message event per inbound message; one per sent message when ``sync_sent`` is on."""
        fields = form_fields(request)
        sender, recipient = form_value(fields, "From"), form_value(fields, "To")
        status = (form_value(fields, "MessageStatus") or form_value(fields, "SmsStatus") or "").lower() or None
        if sender is None:
            raise PayloadError("the From parameter is missing: the message names no sender")
        direction = self._direction(_address(sender)[0], _address(recipient or "")[0], status)
        if direction is Direction.OUTBOUND:
            if not self._config.sync_sent or status not in self._config.sent_statuses:
                return []
            if recipient is None:
                raise PayloadError("the To parameter is missing: the sent message names no customer")
        customer_raw = sender if direction is Direction.INBOUND else recipient
        assert customer_raw is not None
        number, whatsapp = _address(customer_raw)
        if self.is_business(number):
            # A message between two of the business's own numbers (a test, a forward): nobody's conversation.
            return []
        field = "From" if direction is Direction.INBOUND else "To"
        phone = customer_phone(number, self._config.default_region, field=field)
        sid = form_value(fields, "MessageSid") or form_value(fields, "SmsSid")
        token = request.headers.get("i-twilio-idempotency-token", "").strip()
        external_id = sid or (f"token:{token}" if token else None)
        if external_id is None:
            raise PayloadError("the MessageSid parameter is missing: the message cannot be told apart from others")
        text = "\n\n".join(t for t in (form_value(fields, "Body"), _location(fields)) if t) or None
        attachments = _media(fields)
        if text is None and not attachments:
            if direction is Direction.INBOUND:
                raise PayloadError("the message has neither a Body, media nor a location")
            # Twilio's status callbacks leave out the text of the message they report.
            text = "SMS sent (its text is not in Twilio's status callback)"
        # WhatsApp tells the name the customer gave their profile; it names the contact Wix creates.
        profile = form_value(fields, "ProfileName") if direction is Direction.INBOUND else None
        first, last = (truncate(name, 256) for name in split_name(profile))
        return [
            make_event(
                "the message",
                tenant=tenant,
                source=self._name,
                kind=EventKind.MESSAGE,
                occurred_at=request.received_at,
                external_id=external_id,
                direction=direction,
                phone=phone,
                first_name=first,
                last_name=last,
                text=text,
                attachments=attachments,
                channel="WhatsApp" if whatsapp else CHANNEL,
                raw=flat_form(fields),
            )
        ]
