"""SendGrid Inbound Parse: each email SendGrid receives for the parse hostname, posted as a multipart form.

Both of SendGrid's modes are read: the default parsed form (``from``, ``to``, ``cc``, ``subject``, ``text``,
``html``, ``headers``, ``attachment-info`` and the ``attachmentN`` files, each text field in the charset named by
``charsets``) and "POST the raw, full MIME message" (the whole message in the ``email`` field). In both, the
``envelope`` names the parse address the email was received for, and ``spam_report`` (with Spam Check on)
SpamAssassin's verdict.

Inbound Parse signs nothing by default, so the source requires basic auth credentials or a secret token in the
webhook URL.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Literal

from inboxbridge.events import InboundEvent
from inboxbridge.providers.base import WebhookRequest
from inboxbridge.providers.email.mail import (
    Mail,
    MailAttachment,
    UnsignedEmailSettings,
    UnsignedMailSource,
    header_date,
    header_map,
    header_text,
    headers_from_block,
    mail_from_mime,
    message_id,
    parse_addresses,
)
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.forms import FormData, parse_form

__all__ = ["SendGridSource", "SendGridSourceConfig", "read_sendgrid"]

# SpamAssassin's verdict as SendGrid's spam_report states it: "Content analysis details:   (2.6 points, 5.0 required)".
_SPAM_VERDICT = re.compile(r"\(\s*(-?\d+(?:\.\d+)?) points?, (-?\d+(?:\.\d+)?) required\)")


class SendGridSourceConfig(UnsignedEmailSettings):
    """SendGrid's Inbound Parse webhook: proven by basic auth or a URL token; mail read from the parse form."""

    type: Literal["sendgrid"] = "sendgrid"

    def build(self, name: str, *, clock: Clock | None = None) -> SendGridSource:
        """The source this configuration describes, named ``name`` (SendGrid requests carry no time to check)."""
        return SendGridSource(name, self)


def _json_object(form: FormData, name: str) -> dict[str, Any]:
    value = form.json_field(name)
    return value if isinstance(value, dict) else {}


def _attachments(form: FormData) -> tuple[MailAttachment, ...]:
    info = _json_object(form, "attachment-info")
    found: list[MailAttachment] = []
    for upload in form.files:
        described = info.get(upload.field)
        details = described if isinstance(described, dict) else {}
        filename = details.get("filename") or details.get("name") or upload.filename
        content_type = details.get("type") or upload.content_type
        found.append(
            MailAttachment(
                filename=filename if isinstance(filename, str) else upload.filename,
                content_type=content_type if isinstance(content_type, str) else upload.content_type,
                size=upload.size,
            )
        )
    return tuple(found)


def _received_for(form: FormData) -> tuple[str, ...]:
    """The ``envelope``'s ``to``: the parse addresses SendGrid received the email for."""
    recipients = _json_object(form, "envelope").get("to")
    return tuple(r for r in recipients if isinstance(r, str)) if isinstance(recipients, list) else ()


def _spam(form: FormData) -> str | None:
    """SendGrid's Spam Check verdict, when it ran and found spam."""
    verdict = _SPAM_VERDICT.search(form.text("spam_report") or "")
    if verdict is None or float(verdict[1]) < float(verdict[2]):
        return None
    return f"spam by SendGrid's Spam Check ({verdict[1]} points, {verdict[2]} required)"


def _parsed(form: FormData) -> Mail:
    charsets = {str(k).lower(): str(v) for k, v in _json_object(form, "charsets").items()}

    def text(name: str) -> str | None:
        value = form.text(name, charsets.get(name, "utf-8"))
        return value if value is not None and value.strip() else None

    headers = headers_from_block(text("headers"))
    senders = parse_addresses(text("from"))
    return Mail(
        sender=senders[0] if senders else None,
        to=parse_addresses(text("to")),
        cc=parse_addresses(text("cc")),
        subject=text("subject"),
        text=text("text"),
        html=text("html"),
        message_id=message_id(header_text(headers, "message-id")),
        date=header_date(header_text(headers, "date")),
        attachments=_attachments(form),
        headers=header_map(headers),
    )


def read_sendgrid(form: FormData) -> Mail:
    """The email in a SendGrid Inbound Parse form, in either mode."""
    raw_message = form.values.get("email")
    mail = mail_from_mime(raw_message) if raw_message else _parsed(form)
    return replace(mail, received_for=_received_for(form), spam=_spam(form))


class SendGridSource(UnsignedMailSource[SendGridSourceConfig]):
    """A configured SendGrid Inbound Parse webhook."""

    provider = "sendgrid"

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """The message the email becomes (none for mail between the business's own addresses)."""
        form = parse_form(request.headers.get("content-type"), request.body)
        mail = read_sendgrid(form)
        return self._message(mail, request, tenant=tenant, ids={"message_id": mail.message_id})
