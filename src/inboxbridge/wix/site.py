"""The Wix API calls inboxbridge makes, for one site's credentials."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ValidationError

from inboxbridge.wix.auth import Auth
from inboxbridge.wix.call import Call, Caller
from inboxbridge.wix.errors import WixPermanentError
from inboxbridge.wix.models import (
    Contact,
    ContactResult,
    ContactsPage,
    Conversation,
    ConversationResult,
    Message,
    MessagesPage,
    SendAs,
    Sort,
    Visibility,
    to_wire,
)

__all__ = ["WixSite"]

CONTACTS = "/contacts/v4/contacts"
CONVERSATIONS = "/inbox/v2/conversations"
MESSAGES = "/inbox/v2/messages"

_Model = TypeVar("_Model", bound=BaseModel)


def _segment(value: str) -> str:
    """An id as one URL path segment, so that no id can address another path."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def _parse(model: type[_Model], data: Any, call: Call) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise WixPermanentError(
            f"Wix's answer does not have the expected shape ({exc.error_count()} problems: "
            f"{'; '.join(str(e['loc']) + ' ' + e['msg'] for e in exc.errors()[:3])})",
            status=200,
            method=call.method,
            path=call.path,
        ) from exc


class WixSite:
    """Contacts and Inbox calls for one site, made through a shared :class:`~inboxbridge.wix.WixClient`.

    ``client`` is any :class:`~inboxbridge.wix.call.Caller`; ``WixClient.site`` passes itself.
    """

    def __init__(self, client: Caller, auth: Auth) -> None:
        self.client = client
        self.auth = auth

    def __repr__(self) -> str:
        return f"WixSite({self.auth!r})"

    # Contacts

    async def query_contacts(
        self,
        filter: Mapping[str, Any] | None = None,
        fields: Sequence[str] | None = None,
        limit: int = 100,
        offset: int = 0,
        sort: Sort | None = None,
        fieldsets: Sequence[str] | None = None,
    ) -> ContactsPage:
        """One page of contacts matching ``filter`` (Wix API Query Language), only ``fields`` if given."""
        query: dict[str, Any] = {}
        if filter is not None:
            query["filter"] = dict(filter)
        if sort is not None:
            query["sort"] = [to_wire(sort)]
        if fields is not None:
            query["fields"] = list(fields)
        if fieldsets is not None:
            query["fieldsets"] = list(fieldsets)
        query["paging"] = {"limit": limit, "offset": offset}
        call = Call("POST", f"{CONTACTS}/query", json={"query": query})
        body = await self.client.request(self.auth, call)
        contacts = body.get("contacts") or []
        meta = body.get("pagingMetadata") or {}
        return _parse(
            ContactsPage,
            {
                "contacts": contacts,
                "count": meta.get("count", len(contacts)),
                "offset": meta.get("offset", offset),
                "total": meta.get("total"),
                "tooManyToCount": meta.get("tooManyToCount", False),
            },
            call,
        )

    async def find_contacts_by_email(
        self, email: str, fields: Sequence[str] | None = None, *, page_size: int = 100
    ) -> list[Contact]:
        """Every contact having ``email`` among its emails (``info.emails.email``), across all pages."""
        return await self._find_all({"info.emails.email": {"$eq": email}}, fields, page_size)

    async def find_contacts_by_primary_email(
        self, email: str, fields: Sequence[str] | None = None, *, page_size: int = 100
    ) -> list[Contact]:
        """Every contact whose primary email is ``email`` (``primaryInfo.email``), across all pages."""
        return await self._find_all({"primaryInfo.email": {"$eq": email}}, fields, page_size)

    async def find_contacts_by_phone(
        self, e164: str, fields: Sequence[str] | None = None, *, page_size: int = 100
    ) -> list[Contact]:
        """Every contact having the number ``e164`` among its phones, across all pages: on the E.164 form Wix
        derives from each phone as typed and its country code (``info.phones.e164Phone``, the documented filter)."""
        return await self._find_all({"info.phones.e164Phone": {"$eq": e164}}, fields, page_size)

    async def find_contacts_by_typed_phone(
        self, phones: Sequence[str], fields: Sequence[str] | None = None, *, page_size: int = 100
    ) -> list[Contact]:
        """Every contact having one of ``phones`` among its phones exactly as typed (``info.phones.phone``), across
        all pages: for contacts whose number Wix could derive no E.164 form for (no or a wrong country code)."""
        if not phones:
            return []
        return await self._find_all({"info.phones.phone": {"$in": list(phones)}}, fields, page_size)

    async def _find_all(
        self, filter: Mapping[str, Any], fields: Sequence[str] | None, page_size: int
    ) -> list[Contact]:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        found: dict[str, Contact] = {}
        offset = 0
        while True:
            page = await self.query_contacts(filter=filter, fields=fields, limit=page_size, offset=offset)
            for contact in page.contacts:
                # Offset paging can show a contact twice when contacts are added meanwhile.
                found.setdefault(contact.id, contact)
            offset += len(page.contacts)
            if len(page.contacts) < page_size:
                return list(found.values())
            if page.total is not None and not page.too_many_to_count and offset >= page.total:
                return list(found.values())

    async def create_contact(
        self,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        allow_duplicates: bool = False,
        phone_country: str | None = None,
    ) -> Contact:
        """Create a contact. ``phone_country`` (ISO 3166 alpha-2) is the phone's ``countryCode``, from which and
        the phone Wix derives the ``e164Phone`` that lookups by number use. An email already in use raises
        :class:`~inboxbridge.wix.WixConflictError` (``DUPLICATE_CONTACT_EXISTS``, see ``duplicate_contact_id``)
        unless ``allow_duplicates``.
        """
        info: dict[str, Any] = {}
        name = {k: v for k, v in (("first", first_name), ("last", last_name)) if v is not None}
        if name:
            info["name"] = name
        if email is not None:
            info["emails"] = {"items": [{"tag": "MAIN", "email": email}]}
        if phone is not None:
            item = {"tag": "MOBILE", "phone": phone}
            if phone_country is not None:
                item["countryCode"] = phone_country
            info["phones"] = {"items": [item]}
        if not info:
            raise ValueError("a contact needs an email, a phone or a name")
        call = Call(
            "POST",
            CONTACTS,
            json={"info": info, "allowDuplicates": allow_duplicates},
            safe_to_repeat=False,
            writes=True,
        )
        body = await self.client.request(self.auth, call)
        return _parse(Contact, body.get("contact"), call)

    async def get_contact(self, contact_id: str) -> ContactResult:
        """One contact by id; ``response_type`` ``MERGED`` means it was merged into the returned one."""
        call = Call("GET", f"{CONTACTS}/{_segment(contact_id)}")
        return _parse(ContactResult, await self.client.request(self.auth, call), call)

    # Conversations

    async def get_or_create_conversation(
        self,
        contact_id: str | None = None,
        *,
        member_id: str | None = None,
        anonymous_visitor_id: str | None = None,
    ) -> ConversationResult:
        """The conversation with one participant (give exactly one id), created if it does not exist yet."""
        ids = {
            key: value
            for key, value in (
                ("contactId", contact_id),
                ("memberId", member_id),
                ("anonymousVisitorId", anonymous_visitor_id),
            )
            if value is not None
        }
        if len(ids) != 1:
            raise ValueError("give exactly one of contact_id, member_id, anonymous_visitor_id")
        call = Call("POST", CONVERSATIONS, json={"participantId": ids}, writes=True)
        return _parse(ConversationResult, await self.client.request(self.auth, call), call)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """One conversation by id; a merged-away id raises ``WixNotFoundError`` ``CONVERSATION_NOT_FOUND``."""
        call = Call("GET", f"{CONVERSATIONS}/{_segment(conversation_id)}")
        body = await self.client.request(self.auth, call)
        return _parse(Conversation, body.get("conversation"), call)

    # Messages

    async def send_message(
        self,
        conversation_id: str,
        message: Message,
        send_notifications: bool = False,
        send_as: SendAs | None = None,
    ) -> Message:
        """Post ``message`` into a conversation; the answer has Wix's ``id``, ``sequence``, ``created_date``.

        Wix has no idempotency key for this call, so it is never repeated after a failure whose outcome is
        unknown: such an error has ``outcome_unknown`` True, and the caller should look for the message (with
        :meth:`list_messages`) before sending it again.
        """
        if not conversation_id:
            raise ValueError("conversation_id must not be empty")
        body: dict[str, Any] = {
            "conversationId": conversation_id,
            "message": message.to_send_wire(),
            "sendNotifications": send_notifications,
        }
        if send_as is not None:
            body["sendAs"] = SendAs(send_as).value
        call = Call("POST", MESSAGES, json=body, safe_to_repeat=False, writes=True)
        answer = await self.client.request(self.auth, call)
        # Wix stored the message once it answered 2xx, even with an answer that says little or nothing of it.
        return _parse(Message, answer.get("message") or {}, call)

    async def list_messages(
        self,
        conversation_id: str,
        limit: int = 30,
        cursor: str | None = None,
        *,
        visibility: Visibility = Visibility.BUSINESS,
    ) -> MessagesPage:
        """One page of a conversation's messages, newest first; pass ``next_cursor`` on to get older ones.

        ``visibility`` ``BUSINESS`` (the default) lists every message, including business-only ones.
        """
        if not conversation_id:
            raise ValueError("conversation_id must not be empty")
        params = {
            "conversationId": conversation_id,
            "visibility": Visibility(visibility).value,
            "paging.limit": str(limit),
        }
        if cursor is not None:
            params["paging.cursor"] = cursor
        call = Call("GET", MESSAGES, params=params)
        body = await self.client.request(self.auth, call)
        meta = body.get("pagingMetadata") or {}
        cursors = meta.get("cursors") or {}
        next_cursor = cursors.get("next") if meta.get("hasNext", True) is not False else None
        return _parse(
            MessagesPage, {"messages": body.get("messages") or [], "nextCursor": next_cursor or None}, call
        )
