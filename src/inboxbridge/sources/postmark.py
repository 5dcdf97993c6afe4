"""Postmark inbound: each email Postmark receives for the server, posted as one JSON document.

Postmark signs nothing, so the source requires basic auth credentials or a secret token in the webhook URL.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import ConfigDict

from inboxbridge.events import InboundEvent
from inboxbridge.sources.base import PayloadError, WebhookRequest
from inboxbridge.sources.connector import ConnectorSource
from inboxbridge.sources.email_event import (
    EmailSettings,
    Mail,
    MailAddress,
    MailAttachment,
    header_date,
    mail_event,
    message_id,
    parse_addresses,
)
from inboxbridge.sources.generic import Clock
from inboxbridge.sources.shared_secret import SharedSecretConfig, verify_shared_secret

__all__ = ["PostmarkSource", "PostmarkSourceConfig"]


class PostmarkSourceConfig(EmailSettings, SharedSecretConfig):
    """Postmark's inbound webhook: proven by basic auth or a URL token; mail read from Postmark's JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    type: Literal["postmark"] = "postmark"

    def build(self, name: str, *, clock: Clock | None = None) -> PostmarkSource:
        """The source this configuration describes, named ``name`` (Postmark requests carry no time to check)."""
        return PostmarkSource(name, self)


def _string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _full_addresses(value: Any) -> tuple[MailAddress, ...]:
    if not isinstance(value, list):
        return ()
    found: list[MailAddress] = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("Email"), str):
            name = item.get("Name") if isinstance(item.get("Name"), str) else None
            found.extend(parse_addresses(f'"{name}" <{item["Email"]}>' if name else item["Email"]))
    return tuple(found)


def _header(data: dict[str, Any], name: str) -> str | None:
    headers = data.get("Headers")
    if not isinstance(headers, list):
        return None
    for header in headers:
        if isinstance(header, dict) and str(header.get("Name", "")).lower() == name.lower():
            value = header.get("Value")
            return value if isinstance(value, str) else None
    return None


def _attachments(value: Any) -> tuple[MailAttachment, ...]:
    if not isinstance(value, list):
        return ()
    found: list[MailAttachment] = []
    for item in value:
        if not isinstance(item, dict):
            continue
        length = item.get("ContentLength")
        content = item.get("Content")
        if not isinstance(length, int) or isinstance(length, bool):
            # Base64 carries three bytes in four characters: near enough when Postmark leaves the length out.
            length = len(content) * 3 // 4 if isinstance(content, str) else None
        found.append(MailAttachment(_string(item, "Name"), _string(item, "ContentType"), length))
    return tuple(found)


def _sender(data: dict[str, Any]) -> MailAddress | None:
    full = data.get("FromFull")
    if isinstance(full, dict):
        senders = _full_addresses([full])
        if senders:
            return senders[0]
    senders = parse_addresses(_string(data, "From"))
    return senders[0] if senders else None


def read_postmark(data: dict[str, Any]) -> Mail:
    """The email in one Postmark inbound JSON document."""
    return Mail(
        sender=_sender(data),
        to=_full_addresses(data.get("ToFull")) or parse_addresses(_string(data, "To")),
        cc=_full_addresses(data.get("CcFull")) or parse_addresses(_string(data, "Cc")),
        subject=_string(data, "Subject"),
        text=_string(data, "TextBody"),
        html=_string(data, "HtmlBody"),
        stripped_text=_string(data, "StrippedTextReply"),
        message_id=message_id(_header(data, "Message-ID")),
        provider_id=_string(data, "MessageID"),
        date=header_date(_string(data, "Date")),
        attachments=_attachments(data.get("Attachments")),
    )


class PostmarkSource(ConnectorSource[PostmarkSourceConfig]):
    """A configured Postmark inbound webhook."""

    def verify(self, request: WebhookRequest) -> None:
        """Check the basic auth credentials and/or URL token configured for the source."""
        verify_shared_secret(request, self._config)

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """The message the email becomes (none for mail between the business's own addresses)."""
        try:
            data = orjson.loads(request.body)
        except orjson.JSONDecodeError as error:
            raise PayloadError(f"body is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise PayloadError("the body is not a JSON object: expected Postmark's inbound message")
        mail = read_postmark(data)
        raw = {
            "provider": "postmark",
            "MessageID": mail.provider_id,
            "from": mail.sender.email if mail.sender else None,
            "subject": mail.subject,
        }
        return mail_event(
            mail,
            tenant=tenant,
            source=self._name,
            settings=self._config,
            received_at=request.received_at,
            sender_field="FromFull.Email",
            raw=raw,
        )
