"""Intercom: conversation messages (a customer starts or replies, a teammate replies) as Inbox messages.

Intercom signs the raw body with the app's client secret: ``X-Hub-Signature: sha1=<hex HMAC-SHA1>``. Message
bodies are HTML and become plain text; the notification id makes Intercom's retries recognisable.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from inboxbridge.events import Attachment, AttachmentKind, Direction, EventKind, InboundEvent
from inboxbridge.providers.base import PayloadError, WebhookRequest
from inboxbridge.providers.helpers.clock import Clock
from inboxbridge.providers.helpers.connector import (
    ConnectorConfig,
    ConnectorSource,
    make_attachment,
    make_event,
    required_secret,
)
from inboxbridge.providers.helpers.html_text import html_to_text
from inboxbridge.providers.helpers.json_body import read_json_object
from inboxbridge.providers.helpers.signatures import verify_hmac
from inboxbridge.providers.helpers.values import object_at, required_string, split_name, string_at, unix_time

__all__ = ["IntercomSource", "IntercomSourceConfig"]

CHANNEL = "Intercom"
HEADER = "X-Hub-Signature"
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
    client_secret: Annotated[SecretStr, required_secret("client_secret must be the Intercom app's client secret")]
    """The app's client secret (Developer Hub → your app → Basic information)."""
    topics: list[IntercomTopic] = Field(default_factory=lambda: list(ALL_TOPICS))

    def build(self, name: str, *, clock: Clock | None = None) -> IntercomSource:
        """The source this configuration describes, named ``name``."""
        return IntercomSource(name, self)


def _is_team(author: dict[str, Any]) -> bool:
    return string_at(author, "type") in _TEAM_AUTHORS


def _has_content(part: dict[str, Any]) -> bool:
    return bool(string_at(part, "body") or part.get("attachments"))


def _part(topic: str, item: dict[str, Any]) -> dict[str, Any]:
    """The conversation part the notification is about."""
    if topic == "conversation.user.created":
        return object_at(item, "source")
    listed = object_at(item, "conversation_parts").get("conversation_parts")
    parts = [p for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []
    want_team = topic == "conversation.admin.replied"
    for part in reversed(parts):
        if _is_team(object_at(part, "author")) == want_team and _has_content(part):
            return part
    if not parts:
        raise PayloadError(f"the {topic} notification has no conversation_parts")
    return parts[-1]


def _customer(item: dict[str, Any], author: dict[str, Any]) -> tuple[str | None, str | None]:
    """(email, name) of the customer: the writer unless a teammate wrote, else the conversation's contact."""
    people: list[dict[str, Any]] = []
    if not _is_team(author):
        people.append(author)
    source_author = object_at(item, "source", "author")
    if not _is_team(source_author):
        people.append(source_author)
    contacts = object_at(item, "contacts").get("contacts")
    if isinstance(contacts, list):
        people += [c for c in contacts if isinstance(c, dict)]
    people.append(object_at(item, "user"))
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
        verify_hmac(
            request.body,
            request.headers.get(HEADER.lower()),
            self._config.client_secret,
            header=HEADER,
            prefix="sha1=",
            algorithm="sha1",
        )

    def parse(self, request: WebhookRequest, *, tenant: str) -> list[InboundEvent]:
        """One message for a configured topic; nothing for the others (and for Intercom's ``ping``)."""
        body = read_json_object(request.body)
        topic = required_string(body, "topic", what="the notification")
        if topic not in self._config.topics:
            return []
        notification_id = required_string(body, "id", what="the notification")
        item = object_at(body, "data", "item")
        if not item:
            raise PayloadError("the notification has no data.item (the conversation)")
        part = _part(topic, item)
        author = object_at(part, "author")
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
