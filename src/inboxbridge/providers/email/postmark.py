"""Postmark inbound: each email Postmark receives for the server, posted as one JSON document.

Postmark signs nothing, so the source requires basic auth credentials or a secret token in the webhook URL.
``OriginalRecipient`` and any address on Postmark's inbound domain are the server's inbound addresses; the
``X-Spam-Status`` header SpamAssassin adds (``Yes`` for spam) is Postmark's spam verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from inboxbridge.events import InboundEvent
from inboxbridge.providers.answers import Reply, refused_for_good
from inboxbridge.providers.base import WebhookRequest
from inboxbridge.providers.email.mail import (
    Mail,
    MailAddress,
    MailAttachment,
    UnsignedEmailSettings,
    UnsignedMailSource,
    header_date,
    message_id,
    parse_addresses,
)
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.json_body import read_json_object

__all__ = ["PostmarkSource", "PostmarkSourceConfig", "read_postmark"]

# Each Postmark server's inbound address is <hash>@inbound.postmarkapp.com (with +MailboxHash at will).
_INBOUND_DOMAIN = "@inbound.postmarkapp.com"


class PostmarkSourceConfig(UnsignedEmailSettings):
    """Postmark's inbound webhook: proven by basic auth or a URL token; mail read from Postmark's JSON."""

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


def _headers(data: dict[str, Any]) -> dict[str, str]:
    """Postmark's ``Headers`` (a list of ``{"Name", "Value"}``) by lower-case name, the first of each kept."""
    found: dict[str, str] = {}
    headers = data.get("Headers")
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict) and isinstance(header.get("Name"), str) and isinstance(header.get("Value"), str):
            found.setdefault(header["Name"].lower(), header["Value"])
    return found


def _received_for(data: dict[str, Any], addressed: tuple[MailAddress, ...]) -> tuple[str, ...]:
    inbound = [a.email for a in addressed if a.email.lower().endswith(_INBOUND_DOMAIN)]
    original = parse_addresses(_string(data, "OriginalRecipient"))
    return tuple(a.email for a in original) + tuple(inbound)


def _spam(headers: dict[str, str]) -> str | None:
    """SpamAssassin's verdict as Postmark passes it on: ``X-Spam-Status: Yes`` (and the score) for spam."""
    if not headers.get("x-spam-status", "").strip().lower().startswith("yes"):
        return None
    score = headers.get("x-spam-score", "").strip()
    return "spam by Postmark's spam check (X-Spam-Status: Yes" + (f", score {score[:16]})" if score else ")")


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
    headers = _headers(data)
    to = _full_addresses(data.get("ToFull")) or parse_addresses(_string(data, "To"))
    cc = _full_addresses(data.get("CcFull")) or parse_addresses(_string(data, "Cc"))
    bcc = _full_addresses(data.get("BccFull")) or parse_addresses(_string(data, "Bcc"))
    return Mail(
        sender=_sender(data),
        to=to,
        cc=cc,
        subject=_string(data, "Subject"),
        text=_string(data, "TextBody"),
        html=_string(data, "HtmlBody"),
        stripped_text=_string(data, "StrippedTextReply"),
        message_id=message_id(headers.get("message-id")),
        provider_id=_string(data, "MessageID"),
        date=header_date(_string(data, "Date")),
        attachments=_attachments(data.get("Attachments")),
        received_for=_received_for(data, to + cc + bcc),
        headers=headers,
        spam=_spam(headers),
    )


class PostmarkSource(UnsignedMailSource[PostmarkSourceConfig]):
    """A configured Postmark inbound webhook."""

    provider = "postmark"
    sender_field = "FromFull.Email"

    def answer(self, status: int, outcome: Mapping[str, Any]) -> Reply | None:
        """Postmark retries an inbound POST ten times over about ten hours unless it gets 200, or 403 for "stop"."""
        return refused_for_good(status, outcome, 403)

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """The message the email becomes (none for mail between the business's own addresses)."""
        mail = read_postmark(read_json_object(request.body, expected="Postmark's inbound message"))
        return self._message(mail, request, tenant=tenant, ids={"MessageID": mail.provider_id})
