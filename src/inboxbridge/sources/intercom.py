"""Intercom: conversation messages (a customer starts or replies, a teammate replies) as Inbox messages.

Intercom signs the raw body with the app's client secret: ``X-Hub-Signature: sha1=<hex HMAC-SHA1>``. Message
bodies are HTML and become plain text; the notification id makes Intercom's retries recognisable.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from inboxbridge.events import Attachment, AttachmentKind, Direction, EventKind, InboundEvent
from inboxbridge.sources.base import PayloadError, SignatureError, WebhookRequest
from inboxbridge.sources.connector import (
    Clock,
    ConnectorConfig,
    ConnectorSource,
    json_object,
    make_attachment,
    make_event,
    string_at,
    unix_time,
)
from inboxbridge.sources.html_text import html_to_text
from inboxbridge.sources.values import split_name

__all__ = ["IntercomSource", "IntercomSourceConfig"]

CHANNEL = "Intercom"
HEADER = "x-hub-signature"
_PREFIX = "sha1="
IntercomTopic = Literal["conversation.user.created", "conversation.user.replied", "conversation.admin.replied"]
ALL_TOPICS: tuple[IntercomTopic, ...] = (
    "conversation.user.created",
    "conversation.user.replied",
    "conversation.admin.replied",
)
_TEAM_AUTHORS = frozenset({"admin", "bot", "team"})
_MAX_ATTACHMENTS = 20


class IntercomSourceConfig(ConnectorConfig):
    """An Intercom app's webhook subscription."""

    type: Literal["intercom"] = "intercom"
    client_secret: SecretStr
    """The app's client secret (Developer Hub → your app → Basic information)."""
    topics: list[IntercomTopic] = Field(default_factory=lambda: list(ALL_TOPICS))

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("client_secret must be the Intercom app's client secret")
        return value

    def build(self, name: str, *, clock: Clock | None = None) -> IntercomSource:
        """The source this configuration describes, named ``name``."""
        return IntercomSource(name, self)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_team(author: dict[str, Any]) -> bool:
    return string_at(author, "type") in _TEAM_AUTHORS


def _has_content(part: dict[str, Any]) -> bool:
    return bool(string_at(part, "body") or part.get("attachments"))


def _part(topic: str, item: dict[str, Any]) -> dict[str, Any]:
    """The conversation part the notification is about."""
    if topic == "conversation.user.created":
        return _dict(item.get("source"))
    listed = _dict(item.get("conversation_parts")).get("conversation_parts")
    parts = [p for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []
    want_team = topic == "conversation.admin.replied"
    for part in reversed(parts):
        if _is_team(_dict(part.get("author"))) == want_team and _has_content(part):
            return part
    if not parts:
        raise PayloadError(f"the {topic} notification has no conversation_parts")
    return parts[-1]


def _customer(item: dict[str, Any], author: dict[str, Any]) -> tuple[str | None, str | None]:
    """(email, name) of the customer: the writer unless a teammate wrote, else the conversation's contact."""
    people: list[dict[str, Any]] = []
    if not _is_team(author):
        people.append(author)
    source_author = _dict(_dict(item.get("source")).get("author"))
    if not _is_team(source_author):
        people.append(source_author)
    contacts = _dict(item.get("contacts")).get("contacts")
    if isinstance(contacts, list):
        people += [c for c in contacts if isinstance(c, dict)]
    people.append(_dict(item.get("user")))
    for person in people:
        email = string_at(person, "email")
        if email:
            return email, string_at(person, "name")
    return None, None


def _attachments(part: dict[str, Any]) -> tuple[Attachment, ...]:
    found = part.get("attachments")
    if not isinstance(found, list):
        return ()
    attachments: list[Attachment] = []
    for item in found[:_MAX_ATTACHMENTS]:
        url = string_at(item, "url")
        if url is None or not url.startswith(("https://", "http://")):
            continue
        mime = string_at(item, "content_type")
        width, height = item.get("width"), item.get("height")
        attachments.append(
            make_attachment(
                "an attachment",
                kind=AttachmentKind.IMAGE if mime and mime.startswith("image/") else AttachmentKind.FILE,
                url=url,
                filename=string_at(item, "name"),
                mime_type=mime,
                width=width if isinstance(width, int) and width >= 0 else None,
                height=height if isinstance(height, int) and height >= 0 else None,
            )
        )
    return tuple(attachments)


class IntercomSource(ConnectorSource[IntercomSourceConfig]):
    """A source configured by :class:`IntercomSourceConfig`."""

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Hub-Signature`` (``sha1=`` and the hex HMAC-SHA1 of the raw body)."""
        value = request.headers.get(HEADER, "").strip()
        if not value:
            raise SignatureError("the X-Hub-Signature header is missing: the request is not signed")
        if not value.startswith(_PREFIX):
            raise SignatureError(f'the X-Hub-Signature header does not start with "{_PREFIX}"')
        try:
            given = bytes.fromhex(value[len(_PREFIX) :])
        except ValueError:
            raise SignatureError("the X-Hub-Signature header is not a hex HMAC-SHA1 signature") from None
        key = self._config.client_secret.get_secret_value().encode()
        expected = hmac.new(key, request.body, hashlib.sha1).digest()
        if not hmac.compare_digest(expected, given):
            raise SignatureError("the X-Hub-Signature header does not match the body: wrong secret or altered body")

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One message for a configured topic; nothing for the others (and for Intercom's ``ping``)."""
        body = json_object(request.body)
        topic = string_at(body, "topic")
        if topic is None:
            raise PayloadError('the notification has no "topic"')
        if topic not in self._config.topics:
            return []
        notification_id = string_at(body, "id")
        if notification_id is None:
            raise PayloadError('the notification has no "id"')
        item = _dict(_dict(body.get("data")).get("item"))
        if not item:
            raise PayloadError("the notification has no data.item (the conversation)")
        part = _part(topic, item)
        author = _dict(part.get("author"))
        email, name = _customer(item, author)
        if email is None:
            raise PayloadError(
                f"the {topic} notification names no customer email (author, conversation source or contacts)"
            )
        first, last = split_name(name)
        subject = string_at(part, "subject")
        return [
            make_event(
                f"the {topic} notification",
                tenant=tenant,
                source=self._name,
                kind=EventKind.MESSAGE,
                occurred_at=unix_time(part.get("created_at"))
                or unix_time(body.get("created_at"))
                or request.received_at,
                external_id=notification_id,
                direction=Direction.OUTBOUND if _is_team(author) else Direction.INBOUND,
                emails=(email,),
                first_name=first,
                last_name=last,
                title=html_to_text(subject)[:256] if subject else None,
                text=html_to_text(string_at(part, "body") or "")[:16384] or None,
                attachments=_attachments(part),
                channel=CHANNEL,
                raw=body,
            )
        ]
