"""Twilio Voice status callbacks: each finished call becomes one activity line in the customer's conversation.

"Missed call", "Call · 3 min 12 s"..., with a link to the recording when Twilio made one. Calls still in
progress (initiated, ringing, in-progress) are not synced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from inboxbridge.events import Direction, EventKind, InboundEvent
from inboxbridge.sources.base import PayloadError, WebhookRequest
from inboxbridge.sources.connector import (
    Clock,
    ConnectorConfig,
    ConnectorSource,
    PhoneRegionMixin,
    customer_phone,
    form_fields,
    make_event,
)
from inboxbridge.sources.twilio_signature import HEADER, verify_twilio_signature

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


class TwilioVoiceSourceConfig(ConnectorConfig, PhoneRegionMixin):
    """A Twilio number's voice status callback."""

    type: Literal["twilio_voice"] = "twilio_voice"
    auth_token: SecretStr
    statuses: list[CallStatus] = Field(default_factory=lambda: list(ALL_STATUSES))
    """The final call statuses that become activities."""

    @field_validator("auth_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("auth_token must be the Twilio account's auth token")
        return value

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


def _one(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return (values[0].strip() or None) if values else None


class TwilioVoiceSource(ConnectorSource[TwilioVoiceSourceConfig]):
    """A source configured by :class:`TwilioVoiceSourceConfig`."""

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Twilio-Signature`` over the public URL and the form parameters."""
        verify_twilio_signature(request.url, form_fields(request), request.headers.get(HEADER), self._config.auth_token)

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One activity for a call that ended with a configured status; nothing for other callbacks."""
        fields = form_fields(request)
        status = (_one(fields, "CallStatus") or "").lower()
        if not status:
            if _one(fields, "RecordingStatus"):
                # Recording callbacks name no caller; the call's own status callback carries RecordingUrl.
                return []
            raise PayloadError("the CallStatus parameter is missing: this is not a Voice status callback")
        if status not in self._config.statuses:
            return []
        call_sid = _one(fields, "CallSid")
        if call_sid is None:
            raise PayloadError("the CallSid parameter is missing: the call cannot be told apart from others")
        outbound = (_one(fields, "Direction") or "inbound").lower().startswith("outbound")
        direction = Direction.OUTBOUND if outbound else Direction.INBOUND
        field = "To" if outbound else "From"
        raw_number = _one(fields, field) or _one(fields, "Called" if outbound else "Caller")
        if raw_number is None:
            raise PayloadError(f"the {field} parameter is missing: the call names no customer")
        phone = customer_phone(raw_number.removeprefix("client:"), self._config.default_region, field=field)
        duration = _one(fields, "CallDuration")
        if duration is not None and not duration.isdigit():
            raise PayloadError(f"CallDuration is {duration!r}, not a number of seconds")
        recording = _one(fields, "RecordingUrl")
        if recording is not None and not recording.startswith(("https://", "http://")):
            raise PayloadError("RecordingUrl is not an http(s) URL")
        return [
            make_event(
                "the call",
                tenant=tenant,
                source=self._name,
                kind=EventKind.ACTIVITY,
                occurred_at=_timestamp(_one(fields, "Timestamp")) or request.received_at,
                external_id=f"{call_sid}:{status}",
                direction=direction,
                phone=phone,
                text=call_line(status, direction, int(duration) if duration is not None else None),
                activity_url=recording,
                channel=CHANNEL,
                raw={name: values if len(values) > 1 else values[0] for name, values in fields.items()},
            )
        ]
