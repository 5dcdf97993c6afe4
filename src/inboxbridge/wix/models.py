"""Pydantic models of the Wix wire shapes inboxbridge sends and reads.

Python names are snake_case and map to Wix's camelCase (``created_date`` ⇄ ``createdDate``); either may be
used to build a model. Unknown response fields are ignored so that Wix can add fields without breaking us.
Requests are serialized by alias without None values (:func:`to_wire`).

Answers are read leniently, as Wix's own SDK types them: every field of a response is optional there, and enums
have ``UNKNOWN_*`` values. A model requires only what the flow cannot do without (a contact's or a
conversation's id); anything else missing takes an empty or ``UNKNOWN_*`` default, an enum value this client
does not know reads as ``UNKNOWN_*``, and one odd item of a list is left out (logged) rather than failing the
page. What we send is checked on the way out instead (:meth:`Message.to_send_wire`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "Badge",
    "BadgeVisibility",
    "BasicContent",
    "Contact",
    "ContactResult",
    "ContactsPage",
    "Conversation",
    "ConversationResult",
    "Direction",
    "FileItem",
    "ImageItem",
    "Message",
    "MessageContent",
    "MessagesPage",
    "MinimalContent",
    "Participant",
    "PrimaryInfo",
    "SendAs",
    "Sort",
    "TextItem",
    "Visibility",
    "to_wire",
]


class WixModel(BaseModel):
    """Base of every wire model: camelCase aliases, construction by either name, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


def to_wire(model: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict Wix expects: camelCase keys, None values left out."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


log = logging.getLogger("inboxbridge.wix")


class _WixEnum(StrEnum):
    """A Wix enum whose first member is its ``UNKNOWN_*`` value, which any value this client does not know reads as
    (Wix adds values without notice)."""

    @classmethod
    def _missing_(cls, value: object) -> _WixEnum:
        return next(iter(cls))


class Direction(_WixEnum):
    """Who wrote a message, as Wix names it; ``UNKNOWN_DIRECTION`` in an answer that says neither."""

    UNKNOWN_DIRECTION = "UNKNOWN_DIRECTION"
    BUSINESS_TO_PARTICIPANT = "BUSINESS_TO_PARTICIPANT"
    PARTICIPANT_TO_BUSINESS = "PARTICIPANT_TO_BUSINESS"


class Visibility(_WixEnum):
    """Who sees a message: site collaborators only, or the participant too; ``UNKNOWN_VISIBILITY`` in an answer
    that says neither."""

    UNKNOWN_VISIBILITY = "UNKNOWN_VISIBILITY"
    BUSINESS_AND_PARTICIPANT = "BUSINESS_AND_PARTICIPANT"
    BUSINESS = "BUSINESS"


class BadgeVisibility(_WixEnum):
    """Who sees a badge; ``UNKNOWN_BADGE_VISIBILITY`` in an answer that says neither."""

    UNKNOWN_BADGE_VISIBILITY = "UNKNOWN_BADGE_VISIBILITY"
    BUSINESS_AND_PARTICIPANT = "BUSINESS_AND_PARTICIPANT"
    BUSINESS = "BUSINESS"


def _readable(model: type[BaseModel], items: Any, what: str) -> Any:
    """``items`` without the ones ``model`` cannot read (each logged), so one odd item does not fail a page."""
    if not isinstance(items, list):
        return items
    kept: list[Any] = []
    for item in items:
        try:
            model.model_validate(item)
        except ValidationError as exc:
            log.warning("left out an unreadable %s of a Wix answer: %s", what, exc.errors()[:1])
            continue
        kept.append(item)
    return kept


class SendAs(StrEnum):
    """On whose behalf Send Message posts; Wix's default is ``CALLER`` (for an app, the app)."""

    CALLER = "CALLER"
    PARTICIPANT = "PARTICIPANT"
    BUSINESS_USER = "BUSINESS_USER"


class Sort(WixModel):
    """The one sort Query Contacts accepts, e.g. ``Sort(field_name="createdDate", order="DESC")``."""

    field_name: str
    order: Literal["ASC", "DESC"] = "ASC"


# Contacts


class PrimaryInfo(WixModel):
    """A contact's primary email and phone."""

    email: str | None = None
    phone: str | None = None


class Contact(WixModel):
    """A Wix contact; ``info`` is kept as Wix sent it (name, emails, phones, ...)."""

    id: str
    revision: int | None = None
    source: dict[str, Any] | None = None
    created_date: datetime | None = None
    updated_date: datetime | None = None
    last_activity: dict[str, Any] | None = None
    primary_info: PrimaryInfo | None = None
    info: dict[str, Any] = Field(default_factory=dict)
    primary_email: dict[str, Any] | None = None
    primary_phone: dict[str, Any] | None = None

    @property
    def emails(self) -> list[str]:
        """Every email address in ``info.emails.items``, in Wix's order."""
        items = (self.info.get("emails") or {}).get("items") or []
        return [
            item["email"] for item in items if isinstance(item, dict) and isinstance(item.get("email"), str)
        ]


class ContactsPage(WixModel):
    """One page of Query Contacts: the contacts and Wix's paging metadata."""

    contacts: list[Contact] = Field(default_factory=list)
    count: int = 0
    offset: int = 0
    total: int | None = None
    too_many_to_count: bool = False

    @field_validator("contacts", mode="before")
    @classmethod
    def _readable_contacts(cls, value: Any) -> Any:
        return _readable(Contact, value, "contact")


class ContactResult(WixModel):
    """Get Contact's answer; ``response_type`` ``MERGED`` means the asked contact was merged into this one."""

    contact: Contact
    response_type: str = "REGULAR"


# Conversations


class Participant(WixModel):
    """Whom a conversation is with: exactly one of a contact, a member or an anonymous visitor."""

    contact_id: str | None = None
    anonymous_visitor_id: str | None = None
    member_id: str | None = None


class Conversation(WixModel):
    """An Inbox conversation between the business and one participant."""

    id: str
    participant: Participant | None = None
    business_display_data: dict[str, Any] | None = None
    participant_display_data: dict[str, Any] | None = None


class ConversationResult(WixModel):
    """Get or Create Conversation's answer; ``new_conversation`` is True when Wix created it just now."""

    conversation: Conversation
    new_conversation: bool = False


# Messages


class TextItem(WixModel):
    """A text bubble of a BASIC message (1..16384 characters)."""

    text: str


class ImageItem(WixModel):
    """An image bubble of a BASIC message; on the wire ``{"image": {"url", ...}}``."""

    url: str
    id: str | None = None
    filename: str | None = None
    width: int | None = None
    height: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("image"), dict):
            return data["image"]
        return data

    @model_serializer(mode="wrap")
    def _wrap(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {"image": handler(self)}


class FileItem(WixModel):
    """A file bubble of a BASIC message; on the wire ``{"file": {"url", ...}}``."""

    url: str
    id: str | None = None
    filename: str | None = None
    mime_type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("file"), dict):
            return data["file"]
        return data

    @model_serializer(mode="wrap")
    def _wrap(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {"file": handler(self)}


# Tried in order, so that a raw dict only catches items none of the models accepts.
BasicItem = Annotated[TextItem | ImageItem | FileItem | dict[str, Any], Field(union_mode="left_to_right")]


class BasicContent(WixModel):
    """BASIC content: one or more items, each shown as its own bubble.

    Items of a kind this client does not model (Wix may add some) are kept as raw dicts.
    """

    items: list[BasicItem] = Field(default_factory=list)


class MinimalContent(WixModel):
    """MINIMAL content: one line with an optional icon and click-through link, for activities."""

    text: str = ""
    icon_url: str | None = None
    url: str | None = None


class MessageContent(WixModel):
    """A message's content: one of ``basic``, ``minimal``, ``form``, ``template`` (``system`` is Wix's)."""

    basic: BasicContent | None = None
    minimal: MinimalContent | None = None
    form: dict[str, Any] | None = None
    template: dict[str, Any] | None = None
    system: dict[str, Any] | None = None
    preview_text: str | None = None
    title: str | None = None

    @property
    def kinds(self) -> list[str]:
        """The content kinds set (a well-formed message has exactly one)."""
        return [name for name in ("basic", "minimal", "form", "template", "system") if getattr(self, name)]


class Badge(WixModel):
    """A label shown on a message, e.g. the outside channel it came from."""

    text: str = ""
    icon_url: str | None = None
    badge_visibility: BadgeVisibility | None = None


_MESSAGE_WRITABLE = {"content", "direction", "visibility", "badges", "silent"}


class Message(WixModel):
    """An Inbox message. To send one, set ``content``, ``direction``, ``visibility`` and optionally ``badges``
    (at most one) and ``silent``; Wix fills in the read-only ``id``, ``sequence``, ``created_date``, ....
    """

    content: MessageContent = Field(default_factory=MessageContent)
    direction: Direction = Direction.UNKNOWN_DIRECTION
    visibility: Visibility = Visibility.UNKNOWN_VISIBILITY
    badges: list[Badge] = Field(default_factory=list)
    silent: bool | None = None
    id: str | None = None
    sender: dict[str, Any] | None = None
    app_id: str | None = None
    sequence: str | None = None
    created_date: datetime | None = None
    source_channel: str | None = None

    def to_send_wire(self) -> dict[str, Any]:
        """The ``message`` object of Send Message: writable fields only, no None, no empty badges.

        Raises ValueError for a message Wix would refuse: not exactly one kind of content, an empty BASIC
        content, an unknown direction or visibility, more than one badge.
        """
        if len(self.content.kinds) != 1:
            raise ValueError("a message's content needs exactly one of basic, minimal, form, template")
        if self.content.basic is not None and not self.content.basic.items:
            raise ValueError("a BASIC message needs at least one item")
        if self.direction is Direction.UNKNOWN_DIRECTION or self.visibility is Visibility.UNKNOWN_VISIBILITY:
            raise ValueError("a message to send needs its direction and visibility")
        if len(self.badges) > 1:
            raise ValueError("Wix allows at most one badge per message")
        wire = self.model_dump(mode="json", by_alias=True, exclude_none=True, include=_MESSAGE_WRITABLE)
        if not wire.get("badges"):
            wire.pop("badges", None)
        return wire


class MessagesPage(WixModel):
    """One page of List Messages, newest first; ``next_cursor`` is None on the last page."""

    messages: list[Message] = Field(default_factory=list)
    next_cursor: str | None = None

    @field_validator("messages", mode="before")
    @classmethod
    def _readable_messages(cls, value: Any) -> Any:
        return _readable(Message, value, "message")
