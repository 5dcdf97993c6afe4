"""Twilio Voice status callbacks: each finished call becomes one activity line in the customer's conversation.

"Missed call", "Call · 3 min 12 s"..., with a link to the recording when Twilio made one. Calls still in
progress (initiated, ringing, in-progress) are not synced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from pydantic import Field

from inboxbridge.events import Direction, EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, WebhookRequest
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import make_event
from inboxbridge.providers.helpers.forms import flat_form, form_fields, form_value
from inboxbridge.providers.helpers.values import customer_phone
from inboxbridge.providers.twilio.signature import TwilioConfig, TwilioSource

__all__ = ["TwilioVoiceSource", "TwilioVoiceSourceConfig", "call_line", "duration_text"]

CHANNEL = "Call"
CallStatus = Literal["completed", "no-answer", "busy", "failed", "canceled"]
ALL_STATUSES: tuple[CallStatus, ...] = ("completed", "no-answer", "busy", "failed", "canceled")
_INBOUND_TEXT = {
    "no-answer": "Missed call",
    "busy": "Missed call (line busy)",
    "canceled": "Missed call (caller hung up)",
    "failed": "Call failed",
}
_OUTBOUND_TEXT = {
    "no-answer": "Call not answered",
    "busy": "Call not answered (line busy)",
    "canceled": "Call canceled",
    "failed": "Call failed",
}
_OUTBOUND_DIRECTIONS = frozenset({"outbound-api", "trunking-terminating"})
"""Calls the business placed: through the API, or from its own phone system through an Elastic SIP trunk."""
_ENDPOINT_SCHEMES = ("client:", "sip:")
"""Addresses of the business's apps and SIP phones, which name no phone number."""


class TwilioVoiceSourceConfig(TwilioConfig):
    """A Twilio number's voice status callback."""

    type: Literal["twilio_voice"] = "twilio_voice"
    statuses: list[CallStatus] = Field(default_factory=lambda: list(ALL_STATUSES))
    """The final call statuses that become activities."""

    def build(self, name: str, *, clock: Clock | None = None) -> TwilioVoiceSource:
        """The source this configuration describes, named ``name``."""
        return TwilioVoiceSource(name, self)


def duration_text(seconds: int) -> str:
    """``192`` → ``"3 min 12 s"``; ``3725`` → ``"1 h 2 min 5 s"``; zero parts inside are left out."""
    hours, rest = divmod(max(seconds, 0), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return " ".join(part for part in parts if part) or "0 s"


def call_line(status: str, direction: Direction, seconds: int | None) -> str:
    """The activity's text for a call that ended with ``status``."""
    if status == "completed":
        return "Call" if seconds is None else f"Call · {duration_text(seconds)}"
    texts = _INBOUND_TEXT if direction is Direction.INBOUND else _OUTBOUND_TEXT
    return texts.get(status, f"Call {status}")


def _timestamp(value: str | None) -> datetime | None:
    # Twilio writes the callback's Timestamp in RFC 2822 ("Mon, 16 Aug 2010 03:45:01 +0000").
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class TwilioVoiceSource(TwilioSource[TwilioVoiceSourceConfig]):
    """A source configured by :class:`TwilioVoiceSourceConfig`."""

    def _customer_side(self, fields: dict[str, list[str]]) -> tuple[Direction, str, str] | None:
        """Who the customer is on this leg: the direction of the call as the customer saw it, the parameter
        naming them and its value; ``None`` when that side is the business's own: one of its numbers, or an app
        or SIP endpoint (``client:alice``, ``sip:alice@example.sip.twilio.com``), which has no phone number.

        An inbound call's customer is its caller (``From``); a call the business placed through the API
        (``outbound-api``) or from its own phone system through an Elastic SIP trunk (``trunking-terminating``)
        is to the customer (``To``). A ``<Dial>`` child leg (``outbound-dial``) forwards the caller to the
        business's own phone (``To``): its customer is still the caller, so it is an inbound call, never an
        unanswered call to the owner. A configured business number is never taken for the customer.
        """
        outbound = (form_value(fields, "Direction") or "inbound").lower() in _OUTBOUND_DIRECTIONS
        field, fallback = ("To", "Called") if outbound else ("From", "Caller")
        raw = form_value(fields, field) or form_value(fields, fallback)
        if raw is None:
            raise PayloadError(f"the {field} parameter is missing: the call names no customer")
        if raw.lower().startswith(_ENDPOINT_SCHEMES) or self.is_business(raw):
            return None
        return (Direction.OUTBOUND if outbound else Direction.INBOUND), field, raw

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One activity for a call that ended with a configured status; nothing for other callbacks."""
        fields = form_fields(request)
        status = (form_value(fields, "CallStatus") or "").lower()
        if not status:
            if form_value(fields, "RecordingStatus"):
                # Recording callbacks name no caller; the call's own status callback carries RecordingUrl.
                return []
            raise PayloadError("the CallStatus parameter is missing: this is not a Voice status callback")
        if status not in self._config.statuses:
            return []
        call_sid = form_value(fields, "CallSid")
        if call_sid is None:
            raise PayloadError("the CallSid parameter is missing: the call cannot be told apart from others")
        side = self._customer_side(fields)
        if side is None:
            # The business's own side where the customer should be (a forwarded leg that shows the Twilio number
            # as caller id, the owner calling their own line, a call between two of the business's app users):
            # the parent call's callback names the customer, or there is none to name.
            return []
        direction, field, raw_number = side
        phone = customer_phone(raw_number, self._config.default_region, field=field)
        parent = form_value(fields, "ParentCallSid")
        external_id = f"{call_sid}:{status}" if parent is None else f"{parent}:dial:{call_sid}:{status}"
        duration = form_value(fields, "CallDuration")
        if duration is not None and not duration.isdigit():
            raise PayloadError(f"CallDuration is {duration!r}, not a number of seconds")
        recording = form_value(fields, "RecordingUrl")
        if recording is not None and not recording.startswith(("https://", "http://")):
            raise PayloadError("RecordingUrl is not an http(s) URL")
        return [
            make_event(
                "the call",
                tenant=tenant,
                source=self._name,
                kind=EventKind.ACTIVITY,
                occurred_at=_timestamp(form_value(fields, "Timestamp")) or request.received_at,
                external_id=external_id,
                direction=direction,
                phone=phone,
                text=call_line(status, direction, int(duration) if duration is not None else None),
                activity_url=recording,
                channel=CHANNEL,
                raw=flat_form(fields),
            )
        ]
