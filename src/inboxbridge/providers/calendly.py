"""Calendly: a booking made, rescheduled or canceled becomes an activity line with a link to the booking.

Calendly signs ``{t}.{raw body}`` with the webhook subscription's signing key (HMAC-SHA256) and sends
``Calendly-Webhook-Signature: t=...,v1=...``.

A reschedule is one line. Calendly reports it twice: ``invitee.canceled`` for the old invitee, with
``rescheduled: true``, the old meeting and the new invitee's URI; and ``invitee.created`` for the new invitee, with
the new meeting and the old invitee's URI in ``old_invitee``. Neither carries both start times, and the connector
reads no API, so the line comes from ``invitee.created``: "Rescheduled: <meeting> → <new time>", the time the
business needs next. The canceled half is acknowledged and dropped; posting it would show "Canceled: …" for a
meeting that is still on, and merging the halves would make one line wait on a second webhook that may never come.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from inboxbridge.events import EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, WebhookRequest
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import ConnectorConfig, ConnectorSource, make_event, required_secret
from inboxbridge.providers.helpers.json_body import read_json_object
from inboxbridge.providers.helpers.signatures import verify_timestamped_signature
from inboxbridge.providers.helpers.values import (
    as_time,
    object_at,
    required_object,
    required_string,
    split_name,
    string_at,
)

__all__ = ["CalendlySource", "CalendlySourceConfig"]

CHANNEL = "Calendly"
HEADER = "Calendly-Webhook-Signature"
CalendlyEvent = Literal["invitee.created", "invitee.canceled"]
ALL_EVENTS: tuple[CalendlyEvent, ...] = ("invitee.created", "invitee.canceled")


class CalendlySourceConfig(ConnectorConfig):
    """A Calendly webhook subscription."""

    type: Literal["calendly"] = "calendly"
    signing_key: Annotated[SecretStr, required_secret("signing_key must be the webhook subscription's signing key")]
    """The ``signing_key`` given when the webhook subscription was created."""
    events: list[CalendlyEvent] = Field(default_factory=lambda: list(ALL_EVENTS))
    tolerance_seconds: float = Field(default=180, gt=0)
    """How old a signature's timestamp may be (Calendly's example uses three minutes)."""

    def build(self, name: str, *, clock: Clock | None = None) -> CalendlySource:
        """The source this configuration describes, named ``name``."""
        return CalendlySource(name, self, clock=clock)


def _when(start: datetime | None, timezone: str | None) -> str:
    if start is None:
        return ""
    text = start.strftime("%a %d %b %Y %H:%M UTC")
    return text + (f" (invitee in {timezone})" if timezone else "")


def _line(event: str, payload: dict[str, Any]) -> str:
    scheduled = object_at(payload, "scheduled_event")
    meeting = string_at(scheduled, "name") or "meeting"
    try:
        start = as_time(scheduled.get("start_time"))
    except ValueError:
        raise PayloadError("payload.scheduled_event.start_time is not a time") from None
    when = _when(start, string_at(payload, "timezone"))
    if event == "invitee.created" and string_at(payload, "old_invitee"):
        return f"Rescheduled: {meeting}" + (f" → {when}" if when else "")
    if event == "invitee.created":
        return f"Booked: {meeting}" + (f" · {when}" if when else "")
    reason = string_at(payload, "cancellation", "reason")
    return f"Canceled: {meeting}" + (f" · {when}" if when else "") + (f" — {reason}" if reason else "")


class CalendlySource(ConnectorSource[CalendlySourceConfig]):
    """A source configured by :class:`CalendlySourceConfig`."""

    def verify(self, request: WebhookRequest) -> None:
        """Check ``Calendly-Webhook-Signature`` (timestamped HMAC-SHA256) against the raw body."""
        key, tolerance = self._config.signing_key, self._config.tolerance_seconds
        verify_timestamped_signature(request, key, header=HEADER, now=self._clock(), tolerance_seconds=tolerance)

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One activity for a configured event; nothing for the others, nor for the canceled half of a reschedule."""
        body = read_json_object(request.body)
        event = required_string(body, "event", what="the webhook")
        if event not in self._config.events:
            return []
        payload = required_object(body, "payload", what="the webhook")
        if event == "invitee.canceled" and payload.get("rescheduled") is True:
            return []
        email = string_at(payload, "email")
        if email is None:
            raise PayloadError("payload.email is missing: the invitee names no email")
        invitee = string_at(payload, "uri")
        if invitee is None:
            raise PayloadError("payload.uri is missing: the invitee cannot be told apart from others")
        first = string_at(payload, "first_name")
        last = string_at(payload, "last_name")
        if first is None and last is None:
            first, last = split_name(string_at(payload, "name"))
        try:
            occurred_at = as_time(body.get("created_at")) or request.received_at
        except ValueError:
            raise PayloadError("created_at is not a time") from None
        return [
            make_event(
                f"the {event} webhook",
                tenant=tenant,
                source=self._name,
                kind=EventKind.ACTIVITY,
                occurred_at=occurred_at,
                external_id=f"{invitee}#{event}",
                emails=(email,),
                first_name=first,
                last_name=last,
                text=_line(event, payload),
                activity_url=string_at(payload, "reschedule_url") or string_at(payload, "cancel_url"),
                channel=CHANNEL,
                raw=body,
            )
        ]
