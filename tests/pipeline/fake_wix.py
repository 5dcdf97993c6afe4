"""An in-memory Wix site for the pipeline's unit tests.

:class:`FakeSite` has the :class:`~inboxbridge.wix.WixSite` methods the pipeline calls, with the same signatures,
answering with the real models and raising the real errors (status and ``applicationError`` code as Wix sends
them). It keeps contacts, one live conversation per contact, the messages of every conversation, and a log of the
calls made to it. Tests shape it with ``add_contact``, ``delete_contact``, ``merge_conversation``, ``now`` (the
time Wix stamps on what it creates), ``fail`` (a scripted failure, before or after the call took effect) and
``before_next`` (something that happens on Wix just before a call, such as another worker creating the contact).

Query Contacts understands only the filters the pipeline sends (an email or a phone, among all of a contact's or
as its primary one) and raises AssertionError on anything else, so that a change in what the pipeline asks Wix
fails here instead of being answered wrongly. Emails compare without case, as on Wix; phones are kept as typed with
a country code, and Wix's E.164 form is derived from the two (``info.phones.e164Phone``); ``info.phones.phone``
and ``primaryInfo.phone`` compare as typed. Like Wix, it re-hosts the images and files of a stored message:
their URLs become its own (with an expiring token) and each gets a media id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from inboxbridge.wix import (
    BasicContent,
    Contact,
    ContactsPage,
    Conversation,
    ConversationResult,
    FileItem,
    ImageItem,
    Message,
    MessagesPage,
    Participant,
    PrimaryInfo,
    SendAs,
    Sort,
    Visibility,
    WixConflictError,
    WixConnectionError,
    WixError,
    WixNotFoundError,
    WixTimeoutError,
)

__all__ = ["CONTACTS", "CONVERSATIONS", "MESSAGES", "Call", "FakeSite", "connect_failure", "read_timeout"]

CONTACTS = "/contacts/v4/contacts"
CONVERSATIONS = "/inbox/v2/conversations"
MESSAGES = "/inbox/v2/messages"

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# The filters the pipeline sends: Query Contacts field -> how a contact's values for it are read.
_FILTER_FIELDS: dict[str, Callable[[_Contact], list[str]]] = {
    "info.emails.email": lambda c: [e.lower() for e in c.emails],
    "primaryInfo.email": lambda c: [c.primary_email.lower()] if c.primary_email else [],
    "info.phones.phone": lambda c: list(c.phones),
    "info.phones.e164Phone": lambda c: c.e164_phones(),
    "primaryInfo.phone": lambda c: [c.primary_phone] if c.primary_phone else [],
}


def read_timeout(method: str = "POST", path: str = MESSAGES) -> WixTimeoutError:
    """The error of a request that left but got no answer in time: Wix may have applied it."""
    return WixTimeoutError("ReadTimeout: no answer in time", outcome_unknown=True, method=method, path=path)


def connect_failure(method: str = "POST", path: str = MESSAGES) -> WixConnectionError:
    """The error of a request that never left (no connection): Wix certainly did not see it."""
    return WixConnectionError("ConnectError: could not connect", outcome_unknown=False, method=method, path=path)


@dataclass(frozen=True)
class Call:
    """One call made to the site: the WixSite method and its key arguments."""

    method: str
    args: dict[str, Any]


@dataclass
class _Contact:
    id: str
    emails: list[str]
    phones: list[str]
    primary_email: str | None
    primary_phone: str | None
    created: datetime
    first_name: str | None = None
    last_name: str | None = None
    deleted: bool = False
    found_by_query: bool = True
    phone_country: str | None = None

    def e164_phones(self) -> list[str]:
        """What Wix derives from each phone as typed and the country code: E.164 when the two make a valid number."""
        derived: list[str] = []
        for phone in self.phones:
            try:
                parsed = phonenumbers.parse(phone, self.phone_country)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(parsed):
                derived.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
        return derived

    def full(self) -> Contact:
        info: dict[str, Any] = {
            "emails": {"items": [{"tag": "MAIN", "email": e} for e in self.emails]},
            "phones": {"items": [{"tag": "MOBILE", "phone": p} for p in self.phones]},
        }
        name = {k: v for k, v in (("first", self.first_name), ("last", self.last_name)) if v is not None}
        if name:
            info["name"] = name
        return Contact(
            id=self.id,
            created_date=self.created,
            primary_info=PrimaryInfo(email=self.primary_email, phone=self.primary_phone),
            info=info,
        )


@dataclass
class _Conversation:
    id: str
    contact_id: str
    messages: list[Message] = field(default_factory=list)
    """Oldest first."""
    merged_into: str | None = None


@dataclass
class _Fault:
    error: WixError
    call_number: int
    applied: bool


class FakeSite:
    """An in-memory Wix site; see the module's docstring."""

    def __init__(self) -> None:
        self.now = START
        """The time Wix stamps on what it creates (contacts, messages); tests may move it."""
        self.calls: list[Call] = []
        self._contacts: dict[str, _Contact] = {}
        self._conversations: dict[str, _Conversation] = {}
        self._live: dict[str, str] = {}
        """Contact id -> the id of its live (not merged) conversation."""
        self._numbers: dict[str, int] = {}
        self._call_counts: dict[str, int] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._before: dict[str, list[Callable[[], None]]] = {}

    # Shaping the site (not Wix calls: not logged)

    def add_contact(
        self,
        contact_id: str | None = None,
        *,
        emails: Sequence[str] = (),
        phones: Sequence[str] = (),
        primary_email: str | None = None,
        primary_phone: str | None = None,
        created: datetime | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        phone_country: str | None = None,
    ) -> str:
        """A contact; its primary email and phone default to the first given; ``phone_country`` is the country
        code of its phones, as typed in Wix. Returns its id."""
        contact = _Contact(
            id=contact_id or self._next_id("contact"),
            emails=list(emails),
            phones=list(phones),
            primary_email=primary_email or (emails[0] if emails else None),
            primary_phone=primary_phone or (phones[0] if phones else None),
            created=created or self.now,
            first_name=first_name,
            last_name=last_name,
            phone_country=phone_country,
        )
        assert contact.id not in self._contacts, f"contact {contact.id} exists already"
        self._contacts[contact.id] = contact
        return contact.id

    def delete_contact(self, contact_id: str, *, still_found_by_query: bool = False) -> None:
        """Delete a contact: Get or Create Conversation no longer knows it (its conversation, if any, is left as
        it is). ``still_found_by_query``: Query Contacts keeps listing it (its search lags behind the delete)."""
        contact = self._contacts[contact_id]
        contact.deleted = True
        contact.found_by_query = still_found_by_query

    def conversation_of(self, contact_id: str) -> str:
        """The id of the contact's live conversation, created if there is none yet (not logged)."""
        if contact_id not in self._live:
            conversation = _Conversation(self._next_id("conversation"), contact_id)
            self._conversations[conversation.id] = conversation
            self._live[contact_id] = conversation.id
        return self._live[contact_id]

    merged_send: str = "CONVERSATION_NOT_FOUND"
    """What a send into a merged-away conversation gets: 404 with that code, ``"404"`` a 404 with no code (Send
    Message documents no CONVERSATION_NOT_FOUND), or ``"accepted"`` (stored in the conversation it was merged
    into, answered as a success)."""

    def merge_conversation(self, conversation_id: str) -> str:
        """Wix's merge (the contact became a member): the old id now answers 404 (see ``merged_send``), and the
        contact's Get or Create Conversation gives a new conversation holding the old one's history."""
        old = self._conversations[conversation_id]
        assert old.merged_into is None, f"conversation {conversation_id} is merged already"
        new = _Conversation(self._next_id("conversation"), old.contact_id, messages=list(old.messages))
        self._conversations[new.id] = new
        old.merged_into = new.id
        self._live[old.contact_id] = new.id
        return new.id

    def messages(self, conversation_id: str) -> list[Message]:
        """Every message of a conversation, oldest first (merged-away conversations keep theirs)."""
        return list(self._conversations[conversation_id].messages)

    def messages_of(self, contact_id: str) -> list[Message]:
        """The messages in the contact's live conversation, oldest first; none if it has no conversation."""
        conversation_id = self._live.get(contact_id)
        return self.messages(conversation_id) if conversation_id else []

    def contact(self, contact_id: str) -> Contact:
        """The contact as Wix keeps it (also a deleted one)."""
        return self._contacts[contact_id].full()

    @property
    def contact_ids(self) -> list[str]:
        """Every contact id, in the order they were added or created (deleted ones left out)."""
        return [c.id for c in self._contacts.values() if not c.deleted]

    def fail(self, method: str, error: WixError, *, on_call: int = 1, applied: bool = False) -> None:
        """The ``on_call``-th call of ``method`` from now raises ``error``. ``applied``: only after the call
        took effect (the message stored, the contact created), as when the answer is lost on its way back."""
        assert hasattr(self, method), f"FakeSite has no method {method}"
        assert not applied or method in ("create_contact", "get_or_create_conversation", "send_message")
        number = self._call_counts.get(method, 0) + on_call
        self._faults.setdefault(method, []).append(_Fault(error, number, applied))

    def before_next(self, method: str, action: Callable[[], None]) -> None:
        """Run ``action`` just before the next call of ``method`` takes effect (another client acting on Wix)."""
        self._before.setdefault(method, []).append(action)

    # The log

    def names(self) -> list[str]:
        """The methods called, in order."""
        return [call.method for call in self.calls]

    def args(self, method: str) -> list[dict[str, Any]]:
        """The key arguments of each call of ``method``, in order."""
        return [call.args for call in self.calls if call.method == method]

    def count(self, method: str) -> int:
        """How many times ``method`` was called."""
        return len(self.args(method))

    # WixSite: contacts

    async def query_contacts(
        self,
        filter: Mapping[str, Any] | None = None,
        fields: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        sort: Sort | None = None,
        fieldsets: Sequence[str] | None = None,
    ) -> ContactsPage:
        """Contacts matching one ``{field: {"$eq": value}}`` filter, sorted by ``createdDate`` if asked."""
        fault = self._enter(
            "query_contacts",
            filter=dict(filter) if filter is not None else None,
            fields=list(fields) if fields is not None else None,
            sort=f"{sort.field_name} {sort.order}" if sort is not None else None,
            limit=limit,
            offset=offset,
        )
        matching = self._matching(filter, sort, fieldsets)
        self._check_fields(fields)
        self._raise_before(fault)
        page = matching[offset : offset + limit]
        return ContactsPage(
            contacts=[self._project(c, fields) for c in page],
            count=len(page),
            offset=offset,
            total=len(matching),
        )

    async def find_contacts_by_email(
        self, email: str, fields: Sequence[str] | None = None, *, page_size: int = 100
    ) -> list[Contact]:
        """Every contact having ``email`` among its emails."""
        fault = self._enter("find_contacts_by_email", email=email, fields=list(fields) if fields else fields)
        self._check_fields(fields)
        self._raise_before(fault)
        found = self._matching({"info.emails.email": {"$eq": email}}, None, None)
        return [self._project(c, fields) for c in found]

    async def find_contacts_by_phone(
        self, e164: str, fields: Sequence[str] | None = None, *, page_size: int = 100
    ) -> list[Contact]:
        """Every contact having the number on its derived E.164 form."""
        fault = self._enter("find_contacts_by_phone", e164=e164, fields=list(fields) if fields else fields)
        self._check_fields(fields)
        self._raise_before(fault)
        found = self._matching({"info.phones.e164Phone": {"$eq": e164}}, None, None)
        return [self._project(c, fields) for c in found]

    async def find_contacts_by_typed_phone(
        self, phones: Sequence[str], fields: Sequence[str] | None = None, *, page_size: int = 100
    ) -> list[Contact]:
        """Every contact having one of ``phones`` among its phones as typed."""
        fault = self._enter(
            "find_contacts_by_typed_phone", phones=list(phones), fields=list(fields) if fields else fields
        )
        self._check_fields(fields)
        self._raise_before(fault)
        found = self._matching({"info.phones.phone": {"$in": list(phones)}}, None, None)
        return [self._project(c, fields) for c in found]

    async def create_contact(
        self,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        allow_duplicates: bool = False,
        phone_country: str | None = None,
    ) -> Contact:
        """A new contact; an email another live contact has answers 409 ``DUPLICATE_CONTACT_EXISTS``."""
        fault = self._enter(
            "create_contact",
            email=email,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            phone_country=phone_country,
        )
        if email is None and phone is None and first_name is None and last_name is None:
            raise ValueError("a contact needs an email, a phone or a name")
        self._raise_before(fault)
        if email is not None and not allow_duplicates:
            for other in self._contacts.values():
                if not other.deleted and email.lower() in (e.lower() for e in other.emails):
                    raise WixConflictError(
                        "Cannot create contact: a contact with this email address already exists",
                        status=409,
                        code="DUPLICATE_CONTACT_EXISTS",
                        data={"duplicateContactId": other.id},
                        method="POST",
                        path=CONTACTS,
                    )
        contact_id = self.add_contact(
            emails=[email] if email else [],
            phones=[phone] if phone else [],
            first_name=first_name,
            last_name=last_name,
            phone_country=phone_country,
        )
        self._raise_after(fault)
        return self._contacts[contact_id].full()

    # WixSite: conversations

    async def get_or_create_conversation(
        self,
        contact_id: str | None = None,
        *,
        member_id: str | None = None,
        anonymous_visitor_id: str | None = None,
    ) -> ConversationResult:
        """The contact's live conversation, created if it has none; 404 ``PARTICIPANT_NOT_FOUND`` for a contact
        Wix does not know (deleted, or never existed)."""
        fault = self._enter("get_or_create_conversation", contact_id=contact_id)
        assert member_id is None and anonymous_visitor_id is None, "the pipeline addresses contacts only"
        if contact_id is None:
            raise ValueError("give exactly one of contact_id, member_id, anonymous_visitor_id")
        self._raise_before(fault)
        contact = self._contacts.get(contact_id)
        if contact is None or contact.deleted:
            raise WixNotFoundError(
                f"contactId {contact_id} is not a participant of this site",
                status=404,
                code="PARTICIPANT_NOT_FOUND",
                method="POST",
                path=CONVERSATIONS,
            )
        new = contact_id not in self._live
        conversation = self._conversations[self.conversation_of(contact_id)]
        self._raise_after(fault)
        return ConversationResult(
            conversation=Conversation(id=conversation.id, participant=Participant(contact_id=contact_id)),
            new_conversation=new,
        )

    # WixSite: messages

    async def send_message(
        self,
        conversation_id: str,
        message: Message,
        send_notifications: bool = False,
        send_as: SendAs | None = None,
    ) -> Message:
        """Store the message; a merged-away or unknown conversation answers 404 ``CONVERSATION_NOT_FOUND``."""
        fault = self._enter(
            "send_message", conversation_id=conversation_id, message=message, send_notifications=send_notifications
        )
        assert send_as is None, "the pipeline sends as the caller"
        if not conversation_id:
            raise ValueError("conversation_id must not be empty")
        if len(message.content.kinds) != 1:
            raise ValueError("a message's content needs exactly one of basic, minimal, form, template")
        if len(message.badges) > 1:
            raise ValueError("Wix allows at most one badge per message")
        self._raise_before(fault)
        stored = self._store(self._live_conversation(conversation_id, "POST"), message)
        self._raise_after(fault)
        return stored

    async def list_messages(
        self,
        conversation_id: str,
        limit: int = 30,
        cursor: str | None = None,
        *,
        visibility: Visibility = Visibility.BUSINESS,
    ) -> MessagesPage:
        """One page of the conversation's messages, newest first; the cursor is the offset of the next page."""
        fault = self._enter("list_messages", conversation_id=conversation_id, limit=limit, cursor=cursor)
        if not conversation_id:
            raise ValueError("conversation_id must not be empty")
        self._raise_before(fault)
        messages = list(reversed(self._live_conversation(conversation_id, "GET").messages))
        if visibility is Visibility.BUSINESS_AND_PARTICIPANT:
            messages = [m for m in messages if m.visibility is Visibility.BUSINESS_AND_PARTICIPANT]
        start = int(cursor) if cursor is not None else 0
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        return MessagesPage(messages=page, next_cursor=str(start + limit) if more else None)

    # Inside

    def _next_id(self, kind: str) -> str:
        self._numbers[kind] = self._numbers.get(kind, 0) + 1
        return f"{kind}-{self._numbers[kind]}"

    def _enter(self, method: str, **args: Any) -> _Fault | None:
        """Log the call, run what was set to happen before it, and give the fault scripted for it, if any."""
        self.calls.append(Call(method, args))
        number = self._call_counts[method] = self._call_counts.get(method, 0) + 1
        for action in self._before.pop(method, []):
            action()
        faults = self._faults.get(method, [])
        for fault in faults:
            if fault.call_number == number:
                faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _raise_before(fault: _Fault | None) -> None:
        if fault is not None and not fault.applied:
            raise fault.error

    @staticmethod
    def _raise_after(fault: _Fault | None) -> None:
        if fault is not None:
            raise fault.error

    def _matching(
        self, filter: Mapping[str, Any] | None, sort: Sort | None, fieldsets: Sequence[str] | None
    ) -> list[_Contact]:
        assert fieldsets is None, f"the pipeline asks for fields, not fieldsets: {fieldsets}"
        assert filter is not None and len(filter) == 1, f"unexpected Query Contacts filter: {filter}"
        ((name, condition),) = filter.items()
        assert name in _FILTER_FIELDS, f"unexpected Query Contacts filter field: {filter}"
        assert isinstance(condition, dict) and len(condition) == 1, f"unexpected condition: {filter}"
        ((operator, value),) = condition.items()
        # Emails are asked for one at a time; phones on their E.164 form, or as typed in any of a few forms.
        assert operator == "$eq" or (operator == "$in" and name in ("info.phones.phone", "primaryInfo.phone")), filter
        values = value if operator == "$in" else [value]
        assert values and all(isinstance(v, str) for v in values), f"unexpected filter value: {filter}"
        wanted = {v.lower() if name.endswith("email") else v for v in values}
        found = [c for c in self._contacts.values() if c.found_by_query and wanted & set(_FILTER_FIELDS[name](c))]
        if sort is not None:
            assert sort.field_name == "createdDate", f"unexpected sort: {sort}"
            found.sort(key=lambda c: c.created, reverse=sort.order == "DESC")
        return found

    @staticmethod
    def _check_fields(fields: Sequence[str] | None) -> None:
        assert fields is None or list(fields) == ["id"], f"the fake answers fields=['id'] or every field: {fields}"

    @staticmethod
    def _project(contact: _Contact, fields: Sequence[str] | None) -> Contact:
        return contact.full() if fields is None else Contact(id=contact.id)

    def _live_conversation(self, conversation_id: str, method: str) -> _Conversation:
        conversation = self._conversations.get(conversation_id)
        merged = conversation is not None and conversation.merged_into is not None
        if conversation is not None and merged and method == "POST" and self.merged_send == "accepted":
            while conversation.merged_into is not None:
                conversation = self._conversations[conversation.merged_into]
            return conversation
        if conversation is None or conversation.merged_into is not None:
            code = "CONVERSATION_NOT_FOUND" if method != "POST" or self.merged_send != "404" else None
            raise WixNotFoundError(
                f"conversation {conversation_id} not found", status=404, code=code, method=method, path=MESSAGES
            )
        return conversation

    def _store(self, conversation: _Conversation, message: Message) -> Message:
        number = self._numbers["message"] = self._numbers.get("message", 0) + 1
        stored = message.model_copy(
            update={"id": f"message-{number}", "sequence": str(number), "created_date": self.now}, deep=True
        )
        if stored.content.basic is not None:
            stored.content.basic = BasicContent(items=[_rehosted(item, number) for item in stored.content.basic.items])
        conversation.messages.append(stored)
        return stored


def _rehosted(item: Any, number: int) -> Any:
    """An image or file item as Wix keeps it: its URL Wix's own (expiring), a media id added."""
    if not isinstance(item, ImageItem | FileItem):
        return item
    media_id = f"media-{number}-{abs(hash(item.url)) % 10**8}"
    url = f"https://static.wixstatic.com/media/{media_id}?token=expires-{number}"
    return item.model_copy(update={"url": url, "id": media_id})
