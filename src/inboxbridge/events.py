"""The normalized event that every source produces and the rest of inboxbridge consumes.

A source turns one provider request into zero or more :class:`InboundEvent` objects. Nothing downstream knows which
provider an event came from beyond its ``source`` name, so everything the Wix flow needs is carried here.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Attachment",
    "AttachmentKind",
    "Direction",
    "EventKind",
    "InboundEvent",
    "looks_like_email",
    "normalize_email",
]

MAX_TEXT = 16384
CUSTOMER_REF = r"^[a-z][a-z0-9_-]*:\S+$"
"""``<provider>:<the provider's id of the customer>``, without spaces."""


class EventKind(StrEnum):
    """What lands in the Inbox: a conversation message (BASIC) or an activity line (MINIMAL)."""

    MESSAGE = "message"
    ACTIVITY = "activity"


class Direction(StrEnum):
    """Who wrote a message, seen from the business."""

    INBOUND = "inbound"
    """The customer's words, sent to the business (Wix ``PARTICIPANT_TO_BUSINESS``)."""
    OUTBOUND = "outbound"
    """The business's words, sent from the outside tool (Wix ``BUSINESS_TO_PARTICIPANT``)."""


class AttachmentKind(StrEnum):
    IMAGE = "image"
    FILE = "file"


def normalize_email(value: str) -> str:
    """The form of an email used for ordering keys and cache keys: trimmed and lower-cased."""
    return value.strip().lower()


def looks_like_email(value: str) -> bool:
    """Whether ``value`` is written like an email address (an event refuses addresses that are not)."""
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain and "." in domain and " " not in value and len(value) <= 320)


class Attachment(BaseModel):
    """An image or file the source had with a message, by URL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AttachmentKind
    url: str = Field(min_length=1, max_length=4096)
    filename: str | None = Field(default=None, max_length=1024)
    mime_type: str | None = Field(default=None, max_length=255)
    width: int | None = Field(default=None, ge=0)
    height: int | None = Field(default=None, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("attachment url must be an http(s) URL")
        return value


class InboundEvent(BaseModel):
    """One thing that happened on an outside channel, to be written into one customer's Inbox conversation.

    ``emails`` lists the customer's addresses, best first; the first one is the ordering key. ``phone`` is used
    when no email is known. ``customer_ref`` is the provider's own id of the customer (``stripe:cus_123``), for an
    event that names neither: its source looks the customer up when the event is delivered. ``external_id`` is
    the provider's own id of the event or message, which makes a repeated delivery of the same webhook
    recognisable; without one, a hash of the canonical payload is used.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=128)
    kind: EventKind
    occurred_at: datetime
    external_id: str | None = Field(default=None, min_length=1, max_length=512)
    direction: Direction = Direction.INBOUND
    emails: tuple[str, ...] = ()
    phone: str | None = Field(default=None, max_length=64)
    customer_ref: str | None = Field(default=None, max_length=300, pattern=CUSTOMER_REF)
    first_name: str | None = Field(default=None, max_length=256)
    last_name: str | None = Field(default=None, max_length=256)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    title: str | None = Field(default=None, max_length=256)
    attachments: tuple[Attachment, ...] = ()
    activity_url: str | None = Field(default=None, max_length=4096)
    activity_icon_url: str | None = Field(default=None, max_length=4096)
    channel: str | None = Field(default=None, max_length=64)
    silent: bool = False
    """Post without raising the Inbox's unread count (history brought in by ``inboxbridge import``)."""
    raw: Any = None

    @field_validator("emails")
    @classmethod
    def _valid_emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned: list[str] = []
        for email in value:
            stripped = email.strip()
            if not looks_like_email(stripped):
                raise ValueError(f"not an email address: {email!r}")
            if normalize_email(stripped) not in (normalize_email(e) for e in cleaned):
                cleaned.append(stripped)
        return tuple(cleaned)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @field_validator("text", "title", "phone", "first_name", "last_name", "channel")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.emails and not self.phone and not self.customer_ref:
            raise ValueError(
                "the event names no customer: it needs an email address, a phone number or a customer reference"
            )
        if self.kind is EventKind.MESSAGE and not self.text and not self.attachments:
            raise ValueError("a message needs text or at least one attachment")
        if self.kind is EventKind.ACTIVITY and not self.text:
            raise ValueError("an activity needs a text (the line shown in the Inbox)")
        return self

    @property
    def email(self) -> str | None:
        """The customer's main email address, normalized, if the event has one."""
        return normalize_email(self.emails[0]) if self.emails else None

    @property
    def customer_key(self) -> str:
        """Who the event is about, within its tenant: ``email:<address>``, ``phone:<number>``, or ``ref:<customer
        reference>`` for an event that names neither (so one provider customer's events stay in order)."""
        if self.emails:
            return f"email:{normalize_email(self.emails[0])}"
        if self.phone is not None:
            return f"phone:{self.phone.strip()}"
        assert self.customer_ref is not None
        return f"ref:{self.customer_ref}"

    @property
    def ordering_key(self) -> str:
        """Events with the same ordering key are delivered one at a time, oldest first."""
        return f"{self.tenant}/{self.customer_key}"

    def idempotency_key(self) -> str:
        """The provider's id when it gave one, otherwise a hash of the event's canonical content."""
        if self.external_id:
            return f"id:{self.external_id}"
        # ``silent`` says how to post, not what happened: leaving it out keeps the keys of stored events stable.
        # An unset ``customer_ref`` is left out for the same reason: events stored before it existed keep theirs.
        left_out = {"raw", "silent"} if self.customer_ref else {"raw", "silent", "customer_ref"}
        canonical = orjson.dumps(self.model_dump(mode="json", exclude=left_out), option=orjson.OPT_SORT_KEYS)
        return "sha256:" + hashlib.sha256(canonical).hexdigest()

    def to_json(self) -> bytes:
        """The event as JSON, for the store."""
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, data: bytes | str) -> InboundEvent:
        """The inverse of :meth:`to_json`."""
        return cls.model_validate(orjson.loads(data))
