"""Mailgun routes: each email a route matches, posted by its ``forward()`` or ``store(notify=...)`` action.

Mailgun posts a form (URL-encoded, or multipart when attachments come along) signed with the domain's HTTP
webhook signing key: ``signature`` is the hex HMAC-SHA256 of ``timestamp`` followed by ``token``. A timestamp
further from our clock than ``max_age_seconds`` is refused as a replay.

Three payloads are read: the parsed message of ``forward()`` (``attachment-N`` files), the stored message of
``store(notify=...)`` (``attachments`` as JSON with URLs on Mailgun's storage), and the raw message of a
forward URL ending in ``mime`` (``body-mime``). In all three, ``recipient`` is the route's address the email was
received for, and the ``X-Mailgun-Sflag: Yes`` header Mailgun's spam filter adds marks spam.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from inboxbridge.events import InboundEvent
from inboxbridge.providers.answers import Reply, refused_for_good
from inboxbridge.providers.base import OneTimeProof, PayloadError, SignatureError, WebhookRequest
from inboxbridge.providers.email.mail import (
    EmailSettings,
    Mail,
    MailAttachment,
    MailSource,
    header_date,
    mail_from_mime,
    message_id,
    parse_addresses,
)
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import required_secret
from inboxbridge.providers.helpers.forms import FormData, parse_form
from inboxbridge.providers.helpers.signatures import unix_stamp

__all__ = ["MailgunSource", "MailgunSourceConfig", "read_mailgun", "verify_mailgun_signature"]

# Mailgun's tokens are 50 characters; a bound keeps absurd input out of the HMAC.
_MAX_TOKEN = 512


class MailgunSourceConfig(EmailSettings):
    """A Mailgun route's webhook: signed with the domain's signing key; mail read from the posted form."""

    type: Literal["mailgun"] = "mailgun"
    signing_key: Annotated[SecretStr, required_secret("signing_key must not be empty")]
    """The HTTP webhook signing key (Mailgun: Sending → Webhooks → HTTP webhook signing key)."""
    max_age_seconds: int = Field(default=900, ge=30, le=86400)
    link_stored_attachments: bool = False
    """For ``store(notify=...)``: link attachments at their Mailgun storage URL instead of listing them."""

    def build(self, name: str, *, clock: Clock | None = None) -> MailgunSource:
        """The source this configuration describes, named ``name``; ``clock`` replaces the wall clock."""
        return MailgunSource(name, self, clock=clock)


def verify_mailgun_signature(
    timestamp: str | None,
    token: str | None,
    signature: str | None,
    signing_key: SecretStr,
    *,
    now: datetime,
    max_age: timedelta,
) -> None:
    """Check Mailgun's signature: hex HMAC-SHA256 of ``timestamp + token`` keyed with the signing key."""
    for name, value in (("timestamp", timestamp), ("token", token), ("signature", signature)):
        if not value or not value.strip():
            raise SignatureError(f'the "{name}" field is missing: the request is not signed by Mailgun')
    assert timestamp is not None and token is not None and signature is not None
    sent_at = unix_stamp(timestamp)
    if sent_at is None:
        raise SignatureError('the "timestamp" field is not a unix time in seconds')
    if len(token) > _MAX_TOKEN:
        raise SignatureError('the "token" field is too long to be Mailgun\'s')
    if abs(now - sent_at) > max_age:
        raise SignatureError(
            f'the "timestamp" field is more than {int(max_age.total_seconds())} seconds from our clock: '
            "a replayed request, or a clock to fix"
        )
    try:
        given = bytes.fromhex(signature.strip())
    except ValueError:
        raise SignatureError('the "signature" field is not a hex HMAC-SHA256') from None
    signed = (timestamp + token).encode("utf-8", "surrogatepass")
    expected = hmac.new(signing_key.get_secret_value().encode(), signed, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, given):
        raise SignatureError('the "signature" field does not match: wrong signing key or altered fields')


def _headers(form: FormData) -> dict[str, str]:
    """Mailgun's ``message-headers`` (a JSON list of [name, value]) by lower-case name, first one kept."""
    found: dict[str, str] = {}
    pairs = form.json_field("message-headers")
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
            found.setdefault(pair[0].lower(), pair[1])
    return found


def _stored_attachments(form: FormData) -> tuple[MailAttachment, ...]:
    items = form.json_field("attachments")
    found: list[MailAttachment] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        size = item.get("size")
        found.append(
            MailAttachment(
                filename=_text_of(item, "name") or _text_of(item, "filename"),
                content_type=_text_of(item, "content-type"),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                url=_text_of(item, "url"),
            )
        )
    return tuple(found)


def _text_of(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _posted_attachments(form: FormData) -> tuple[MailAttachment, ...]:
    return tuple(
        MailAttachment(upload.filename, upload.content_type, upload.size)
        for upload in form.files
        if upload.field.startswith("attachment")
    )


def _spam(headers: Mapping[str, str]) -> str | None:
    """The verdict of Mailgun's spam filter, which adds ``X-Mailgun-Sflag: Yes`` to mail it finds to be spam."""
    if headers.get("x-mailgun-sflag", "").strip().lower() != "yes":
        return None
    score = headers.get("x-mailgun-sscore", "").strip()
    return "spam by Mailgun's spam filter (X-Mailgun-Sflag: Yes" + (f", score {score[:16]})" if score else ")")


def read_mailgun(form: FormData, *, link_stored_attachments: bool = False) -> Mail:
    """The email in a Mailgun route's form, whichever of the three payloads it is."""
    raw_message = form.values.get("body-mime")
    mail = mail_from_mime(raw_message) if raw_message else _parsed(form, link_stored_attachments)
    received_for = tuple(address.email for address in parse_addresses(form.text("recipient")))
    return replace(mail, received_for=received_for, spam=_spam(mail.headers))


def _parsed(form: FormData, link_stored_attachments: bool) -> Mail:
    headers = _headers(form)

    def field(*names: str) -> str | None:
        for name in names:
            value = form.text(name)
            if value is not None and value.strip():
                return value
            if name.lower() in headers and headers[name.lower()].strip():
                return headers[name.lower()]
        return None

    senders = parse_addresses(field("from", "From")) or parse_addresses(field("sender"))
    stored = _stored_attachments(form)
    if not link_stored_attachments:
        stored = tuple(MailAttachment(a.filename, a.content_type, a.size) for a in stored)
    return Mail(
        sender=senders[0] if senders else None,
        to=parse_addresses(field("To")) or parse_addresses(field("recipient")),
        cc=parse_addresses(field("Cc")),
        subject=field("subject", "Subject"),
        text=field("body-plain"),
        html=field("body-html"),
        stripped_text=field("stripped-text"),
        message_id=message_id(field("Message-Id", "Message-ID")),
        date=header_date(field("Date")),
        attachments=_posted_attachments(form) + stored,
        headers=headers,
    )


class MailgunSource(MailSource[MailgunSourceConfig]):
    """A configured Mailgun route webhook."""

    provider = "mailgun"

    def answer(self, status: int, outcome: Mapping[str, Any]) -> Reply | None:
        """Mailgun retries a route's POST for hours unless it gets 200, or 406 for "do not retry"."""
        return refused_for_good(status, outcome, 406)

    def one_time_proof(self, request: WebhookRequest) -> OneTimeProof:
        """The ``token`` of a verified request: Mailgun signs only it and the timestamp, never the mail, so each
        token is accepted once, until its timestamp leaves the ``max_age_seconds`` window."""
        form = parse_form(request.headers.get("content-type"), request.body)
        sent_at = unix_stamp(form.text("timestamp") or "")
        token = form.text("token")
        if sent_at is None or not token:
            raise SignatureError('the "timestamp" and "token" fields are needed to accept the request once')
        return OneTimeProof(token.strip(), sent_at + timedelta(seconds=self._config.max_age_seconds))

    def verify(self, request: WebhookRequest) -> None:
        """Check the form's ``timestamp``, ``token`` and ``signature`` against the signing key."""
        try:
            form = parse_form(request.headers.get("content-type"), request.body)
        except PayloadError as exc:
            # Unreadable means unsigned: refused as such (401), not quarantined, saying why it could not be read.
            raise SignatureError(
                f'the "timestamp", "token" and "signature" fields cannot be read: {exc.reason}'
            ) from None
        verify_mailgun_signature(
            form.text("timestamp"),
            form.text("token"),
            form.text("signature"),
            self._config.signing_key,
            now=self._clock(),
            max_age=timedelta(seconds=self._config.max_age_seconds),
        )

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """The message the email becomes (none for mail between the business's own addresses)."""
        form = parse_form(request.headers.get("content-type"), request.body)
        mail = read_mailgun(form, link_stored_attachments=self._config.link_stored_attachments)
        ids = {"message_id": mail.message_id}
        return self._message(mail, request, tenant=tenant, ids=ids, message_url=form.text("message-url"))
