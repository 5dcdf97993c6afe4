"""One received email, whichever provider parsed it, and the Inbox message it becomes.

Each email provider reads its payload into a :class:`Mail`; :func:`mail_event` decides who the customer is and
what the message says:

- mail from a customer is inbound; mail sent from one of the business's own addresses (``business_addresses``)
  is outbound, and the customer is then its first recipient outside the business. The addresses the provider
  received the email for (its inbound address, the route's recipient) are the business's too, whatever the
  settings say. Mail between the business's own addresses concerns no customer and is ignored (answered 200,
  nothing stored);
- a bounce, an automatic reply or mail the provider's spam check flagged is nobody writing: answered 200 and kept
  with the reason in the quarantine (:class:`SkippedEvent`), as is an email with nothing to show;
- the subject is the title; the text is the reply without the quoted thread (the provider's own stripped text
  when it gives one);
- attachments with a URL the Inbox can show become images or files; the providers post most attachments as
  bytes, which inboxbridge does not store, so those are listed by name and size under the text;
- the RFC 5322 ``Message-ID`` is the idempotency key (the provider's own id when there is none), so a provider's
  retry, or one email posted for two recipients, is stored once.
"""

from __future__ import annotations

import email.policy
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, ClassVar, TypeVar

from pydantic import Field, field_validator

from inboxbridge.events import MAX_TEXT, Attachment, AttachmentKind, Direction, EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, SkippedEvent, WebhookRequest
from inboxbridge.providers.email.automatic import automatic_reason
from inboxbridge.providers.helpers.connector import ConnectorConfig, ConnectorSource
from inboxbridge.providers.helpers.email_text import format_size, html_to_text, strip_reply
from inboxbridge.providers.helpers.shared_secret import SharedSecretConfig, verify_shared_secret
from inboxbridge.providers.helpers.values import split_name, truncate

__all__ = [
    "EmailSettings",
    "Mail",
    "MailAddress",
    "MailAttachment",
    "MailSource",
    "UnsignedEmailSettings",
    "UnsignedMailSource",
    "header_date",
    "header_map",
    "header_text",
    "headers_from_block",
    "mail_event",
    "mail_from_mime",
    "message_id",
    "parse_addresses",
]

# A Date header this far ahead of our clock is the sender's broken clock, not the time the mail was written.
_FUTURE_SLACK = timedelta(days=1)
_NAME_LIMIT = 256
_TITLE_LIMIT = 256


@dataclass(frozen=True)
class MailAddress:
    """One mailbox: the address and the display name, if any."""

    email: str
    name: str | None = None


@dataclass(frozen=True)
class MailAttachment:
    """A file that came with an email: its name, type and size, and a URL when the provider gives one."""

    filename: str | None
    content_type: str | None = None
    size: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class Mail:
    """A received email, read from any provider's payload."""

    sender: MailAddress | None
    to: tuple[MailAddress, ...] = ()
    cc: tuple[MailAddress, ...] = ()
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    stripped_text: str | None = None
    """The reply text as the provider already separated it from the quoted thread, if it did."""
    message_id: str | None = None
    """The RFC 5322 Message-ID, without angle brackets."""
    provider_id: str | None = None
    date: datetime | None = None
    attachments: tuple[MailAttachment, ...] = ()
    received_for: tuple[str, ...] = ()
    """The addresses the provider received the email for (its inbound address, the route's recipient)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """The email's headers by lower-case name, the first of each (see :func:`header_map`)."""
    spam: str | None = None
    """The provider's spam verdict, when it found the email to be spam."""


class EmailSettings(ConnectorConfig):
    """What every email provider's config has, besides how its requests are proven."""

    business_addresses: list[str] = Field(default_factory=list)
    """The business's own addresses (``hello@acme.com``) or domains (``@acme.com``): mail from them is outbound."""
    channel: str = Field(default="Email", min_length=1, max_length=64)
    """The badge shown on each message in the Inbox."""

    @field_validator("business_addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for entry in value:
            item = entry.strip().lower()
            local, at, domain = item.rpartition("@")
            if not at or not domain or "." not in domain or " " in item:
                raise ValueError(f"{entry!r} is neither an email address nor a domain written as @example.com")
            cleaned.append(item if local else f"@{domain}")
        return cleaned

    def is_business(self, address: str) -> bool:
        """Whether ``address`` is one of the business's own addresses or domains."""
        lowered = address.strip().lower()
        domain = "@" + lowered.rpartition("@")[2]
        return lowered in self.business_addresses or domain in self.business_addresses


def _looks_like_email(value: str) -> bool:
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain and "." in domain and " " not in value and len(value) <= 320)


def parse_addresses(*values: str | None) -> tuple[MailAddress, ...]:
    """The mailboxes in address header values (``"Ana Diaz" <ana@example.com>, bo@example.com``), in order.

    Entries that are not email addresses (group names, junk) are skipped.
    """
    found: list[MailAddress] = []
    for name, address in getaddresses([v for v in values if v]):
        address = address.strip()
        if _looks_like_email(address):
            found.append(MailAddress(address, name.strip() or None))
    return tuple(found)


def message_id(value: str | None) -> str | None:
    """A Message-ID header value without its angle brackets and spaces; ``None`` when blank."""
    if value is None:
        return None
    cleaned = value.strip().removeprefix("<").removesuffix(">").strip()
    return cleaned[:500] or None


def header_date(value: str | None) -> datetime | None:
    """An RFC 5322 Date header as an aware time; ``None`` when absent or unreadable."""
    if not value or not value.strip():
        return None
    # Some senders (and Postmark's documented example) write the offset as -04:00 instead of RFC 5322's -0400.
    text = re.sub(r"([+-]\d{2}):(\d{2})\s*$", r"\1\2", value.strip())
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def headers_from_block(block: str | None) -> EmailMessage:
    """A raw header block (as SendGrid posts it) parsed into a message with headers only."""
    parsed = HeaderParser(policy=email.policy.default).parsestr(block or "", headersonly=True)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_map(message: EmailMessage) -> dict[str, str]:
    """The headers of ``message`` by lower-case name, the first of each name kept (the one the last server added,
    since servers add theirs on top)."""
    found: dict[str, str] = {}
    for name, value in message.items():
        found.setdefault(name.lower(), str(value))
    return found


def header_text(message: EmailMessage, name: str) -> str | None:
    """Header ``name`` of ``message`` as text, ``None`` when absent."""
    value = message.get(name)
    return None if value is None else str(value)


def _address_header(message: EmailMessage, name: str) -> tuple[MailAddress, ...]:
    values = message.get_all(name) or []
    return parse_addresses(*(str(value) for value in values))


def mail_from_mime(raw: bytes) -> Mail:
    """A full RFC 5322 message (the "raw" mode of SendGrid and Mailgun), read with the standard library."""
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
    except (TypeError, ValueError) as error:
        raise PayloadError(f"the raw MIME message cannot be read: {error}") from None
    assert isinstance(message, EmailMessage)
    senders = _address_header(message, "from")
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        attachments.append(
            MailAttachment(
                filename=part.get_filename(),
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else None,
            )
        )
    return Mail(
        sender=senders[0] if senders else None,
        to=_address_header(message, "to"),
        cc=_address_header(message, "cc"),
        subject=header_text(message, "subject"),
        text=_content(plain),
        html=_content(html),
        message_id=message_id(header_text(message, "message-id")),
        date=header_date(header_text(message, "date")),
        attachments=tuple(attachments),
        headers=header_map(message),
    )


def _content(part: Any) -> str | None:
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else None
    return content if isinstance(content, str) else None


def _reply_text(mail: Mail) -> str:
    if mail.stripped_text and mail.stripped_text.strip():
        return mail.stripped_text.strip()
    if mail.text and mail.text.strip():
        return strip_reply(mail.text)
    if mail.html and mail.html.strip():
        return strip_reply(html_to_text(mail.html))
    return ""


def _attachment_line(listed: Sequence[MailAttachment]) -> str:
    names = []
    for position, attachment in enumerate(listed, start=1):
        name = attachment.filename or f"attachment {position}"
        names.append(f"{name} ({format_size(attachment.size)})" if attachment.size is not None else name)
    return "Attached to the email: " + ", ".join(names)


def _linked(attachment: MailAttachment) -> Attachment | None:
    if attachment.url is None or not attachment.url.startswith(("https://", "http://")):
        return None
    image = (attachment.content_type or "").lower().startswith("image/")
    return Attachment(
        kind=AttachmentKind.IMAGE if image else AttachmentKind.FILE,
        url=attachment.url[:4096],
        filename=truncate(attachment.filename, 1024),
        mime_type=attachment.content_type if attachment.content_type and len(attachment.content_type) <= 255 else None,
    )


def _customer(mail: Mail, settings: EmailSettings) -> tuple[Direction, MailAddress] | None:
    assert mail.sender is not None
    received_for = {address.lower() for address in mail.received_for}

    def ours(address: MailAddress) -> bool:
        return settings.is_business(address.email) or address.email.lower() in received_for

    if not ours(mail.sender):
        return Direction.INBOUND, mail.sender
    for recipient in (*mail.to, *mail.cc):
        if not ours(recipient):
            return Direction.OUTBOUND, recipient
    return None


def mail_event(
    mail: Mail,
    *,
    tenant: str,
    source: str,
    settings: EmailSettings,
    received_at: datetime,
    sender_field: str,
    raw: dict[str, Any],
) -> list[InboundEvent]:
    """The Inbox message for ``mail`` (an empty list when it concerns no customer); :class:`SkippedEvent` when it
    is nobody writing or has nothing to show.

    ``sender_field`` names the payload field the sender comes from, for the error when it is missing.
    """
    if mail.sender is None:
        raise PayloadError(f'the email names no sender: "{sender_field}" is missing or not an email address')
    found = _customer(mail, settings)
    if found is None:
        return []
    unwanted = automatic_reason(mail.headers, mail.sender.email) or mail.spam
    if unwanted is not None:
        raise SkippedEvent(f"not posted: the email is {unwanted}")
    direction, customer = found
    linked = [a for a in (_linked(item) for item in mail.attachments) if a is not None]
    listed = [item for item in mail.attachments if _linked(item) is None]
    subject = mail.subject.strip() if mail.subject and mail.subject.strip() else None
    text = _reply_text(mail)
    if listed:
        text = f"{text}\n\n{_attachment_line(listed)}" if text else _attachment_line(listed)
    if not text and not linked:
        # An email with a subject and nothing else still says something: the subject.
        text = subject or ""
    if not text and not linked:
        raise SkippedEvent("not posted: the email has no subject, no text and no attachment")
    first_name, last_name = split_name(customer.name)
    occurred_at = mail.date if mail.date is not None and mail.date <= received_at + _FUTURE_SLACK else None
    try:
        return [
            InboundEvent(
                tenant=tenant,
                source=source,
                kind=EventKind.MESSAGE,
                occurred_at=occurred_at or received_at,
                external_id=mail.message_id or mail.provider_id,
                direction=direction,
                emails=(customer.email,),
                first_name=truncate(first_name, _NAME_LIMIT),
                last_name=truncate(last_name, _NAME_LIMIT),
                text=truncate(text, MAX_TEXT),
                title=truncate(subject, _TITLE_LIMIT),
                attachments=tuple(linked),
                channel=settings.channel,
                raw=raw,
            )
        ]
    except ValueError as error:
        raise PayloadError(f"the email cannot be read: {_first_error(error)}") from None


def _first_error(error: ValueError) -> str:
    errors: Iterable[Any] = getattr(error, "errors", lambda: [])()
    for problem in errors:
        location = ".".join(str(part) for part in problem.get("loc", ()))
        message = str(problem.get("msg", "")).removeprefix("Value error, ")
        return f"{location}: {message}" if location else message
    return str(error)


EmailConfigT = TypeVar("EmailConfigT", bound=EmailSettings)


class MailSource(ConnectorSource[EmailConfigT]):
    """An email provider's source: each request holds one email, which becomes one message (or none)."""

    provider: ClassVar[str]
    """The provider's name, as the events' raw record gives it."""
    sender_field: ClassVar[str] = "from"
    """The payload field the sender is read from, for the refusal of an email without one."""

    def _message(
        self, mail: Mail, request: WebhookRequest, *, tenant: str, ids: dict[str, str | None], **more: str | None
    ) -> list[InboundEvent]:
        """:func:`mail_event` for ``mail``; its raw record is the provider, ``ids``, sender, subject and ``more``."""
        raw = {
            "provider": self.provider,
            **ids,
            "from": mail.sender.email if mail.sender else None,
            "subject": mail.subject,
            **more,
        }
        return mail_event(
            mail,
            tenant=tenant,
            source=self._name,
            settings=self._config,
            received_at=request.received_at,
            sender_field=self.sender_field,
            raw=raw,
        )


class UnsignedEmailSettings(EmailSettings, SharedSecretConfig):
    """An email provider that signs nothing (SendGrid, Postmark): basic auth or a token in the URL proves a request."""


UnsignedConfigT = TypeVar("UnsignedConfigT", bound=UnsignedEmailSettings)


class UnsignedMailSource(MailSource[UnsignedConfigT]):
    """The source of an email provider that signs nothing: its requests carry the configured credentials."""

    def verify(self, request: WebhookRequest) -> None:
        """Check the basic auth credentials and/or URL token configured for the source."""
        verify_shared_secret(request, self._config)
