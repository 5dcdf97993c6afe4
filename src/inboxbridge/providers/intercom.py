"""Intercom: conversation messages (a customer starts or replies, a teammate replies) as Inbox messages.

Intercom signs the raw body with the app's client secret: ``X-Hub-Signature: sha1=<hex HMAC-SHA1>``. Message
bodies are HTML and become plain text; the notification id makes Intercom's retries recognisable. Notifications
come in the shape of the API version the app is set to: since 2.0 a conversation opens with ``source`` and names
its customers in ``contacts``; before, it opened with ``conversation_message`` and named one ``user``.
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
_INTERNAL_PARTS = frozenset({"note", "note_and_reopen"})
"""Teammates' notes: only the team sees them in Intercom, so they never become a message."""
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


def _opening(item: dict[str, Any]) -> dict[str, Any]:
    """The conversation's first message: ``source`` since API 2.0, ``conversation_message`` before."""
    return object_at(item, "source") or object_at(item, "conversation_message")


def _parts(item: dict[str, Any]) -> list[dict[str, Any]]:
    listed = object_at(item, "conversation_parts").get("conversation_parts")
    return [part for part in listed if isinstance(part, dict)] if isinstance(listed, list) else []


def _shown_to_customer(part: dict[str, Any]) -> bool:
    """Whether the part is something the customer sees: words or files, and not a teammate's note."""
    if string_at(part, "part_type") in _INTERNAL_PARTS:
        return False
    return bool(string_at(part, "body") or part.get("attachments"))


def _part(topic: str, item: dict[str, Any]) -> dict[str, Any]:
    """The message the notification is about: the conversation's first one, or its newest reply by the customer
    (``conversation.user.replied``) or by a teammate (``conversation.admin.replied``)."""
    if topic == "conversation.user.created":
        opening = _opening(item)
        if not _shown_to_customer(opening):
            raise PayloadError(f"the {topic} notification's first message has no text or attachments")
        return opening
    want_team = topic == "conversation.admin.replied"
    replies = [p for p in _parts(item) if _is_team(object_at(p, "author")) == want_team and _shown_to_customer(p)]
    if replies:
        return replies[-1]
    writer = "teammate" if want_team else "customer"
    raise PayloadError(
        f"the {topic} notification has no {writer} reply with text or attachments in its conversation_parts "
        "(teammates' notes are never synced)"
    )


def _customer(item: dict[str, Any], author: dict[str, Any]) -> tuple[str | None, str | None]:
    """(email, name) of the customer: the writer unless a teammate wrote, else whoever of the conversation's
    people the notification gives an email: the first message's author, a customer who wrote in its parts (the
    newest first), its contacts, its user."""
    people = [author, object_at(_opening(item), "author")]
    people += [object_at(part, "author") for part in reversed(_parts(item))]
    contacts = object_at(item, "contacts").get("contacts")
    if isinstance(contacts, list):
        people += [c for c in contacts if isinstance(c, dict)]
    people.append(object_at(item, "user"))
    for person in people:
        email = string_at(person, "email")
        if email and not _is_team(person):
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
                f"the {topic} notification names no customer email: neither its writer, the conversation's first "
                "message, a customer's reply nor its contacts (listed by id only since API 2.0) carries one"
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
