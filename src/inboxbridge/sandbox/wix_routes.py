"""The Wix REST paths the sandbox serves: OAuth token, Contacts v4, Inbox v2 conversations and messages."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .auth import Caller, issue_token
from .contacts import FIELDSETS, build_contact, project
from .errors import FieldViolation, WixHTTPError, app_error, validation_error
from .messages import VISIBILITIES, is_guid, new_message_id, stored_message, validate_send
from .query import check_filter, matches, sort_contacts
from .runtime import Sandbox
from .state import Conversation, new_guid
from .wire import read_json, wix_route

__all__ = ["wix_routes"]


def _site(caller: Caller | None) -> str:
    assert caller is not None
    return caller.site_id


async def oauth_token(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """POST /oauth2/token."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        body: Any = dict(await request.form())
    else:
        body = await read_json(request)
    return issue_token(sandbox, body)


# contacts -----------------------------------------------------------------------------------------------


def _paging(query: dict[str, Any]) -> tuple[int, int]:
    paging = query.get("paging") or {}
    if not isinstance(paging, dict):
        raise validation_error([FieldViolation("query.paging", "must be an object", "TYPE")])
    limit = paging.get("limit", 50)
    offset = paging.get("offset", 0)
    if limit is None:
        limit = 50
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 1000:
        raise app_error(400, "ILLEGAL_LIMIT", "paging.limit must be between 0 and 1000")
    if offset is None:
        offset = 0
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise validation_error([FieldViolation("query.paging.offset", "must be 0 or more", "MIN")])
    return limit, offset


def _projection(query: dict[str, Any]) -> tuple[list[str], list[str]]:
    fields = query.get("fields") or []
    fieldsets = query.get("fieldsets") or []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields) or len(fields) > 100:
        raise validation_error([FieldViolation("query.fields", "must be a list of at most 100 names", "TYPE")])
    allowed = {*FIELDSETS, "FULL"}
    if not isinstance(fieldsets, list) or any(f not in allowed for f in fieldsets):
        raise validation_error(
            [FieldViolation("query.fieldsets", f"each must be one of {sorted(allowed)}", "INVALID_ENUM_VALUE")]
        )
    return fields, fieldsets


async def query_contacts(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """POST /contacts/v4/contacts/query."""
    body = await read_json(request)
    query = body.get("query", {}) if isinstance(body, dict) else None
    if query is None:
        query = {}
    if not isinstance(query, dict):
        raise validation_error([FieldViolation("query", "must be an object", "TYPE")])
    limit, offset = _paging(query)
    fields, fieldsets = _projection(query)
    filter_ = query.get("filter") or {}
    check_filter(filter_)
    contacts = [c for c in sandbox.state.contacts(_site(caller)) if matches(filter_, c)]
    ordered = sort_contacts(contacts, query.get("sort"))
    page = ordered[offset : offset + limit]
    return {
        "contacts": [project(c, fields, fieldsets) for c in page],
        "pagingMetadata": {
            "count": len(page),
            "offset": offset,
            "total": len(ordered),
            "tooManyToCount": False,
        },
    }


async def create_contact(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """POST /contacts/v4/contacts."""
    body = await read_json(request)
    site_id = _site(caller)
    allow = body.get("allowDuplicates", False) if isinstance(body, dict) else False
    if not isinstance(allow, bool):
        raise validation_error([FieldViolation("allowDuplicates", "must be a boolean", "TYPE")])
    doc = build_contact(body, sandbox.state.contacts(site_id), allow_duplicates=allow)
    if caller is not None and caller.app_id:
        doc["source"] = {"sourceType": "APP", "appId": caller.app_id}
    sandbox.state.insert_contact(site_id, doc)
    return {"contact": doc}


async def get_contact(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """GET /contacts/v4/contacts/{contactId} (the SDK repeats the id as ``?id=``)."""
    contact_id = request.path_params["contact_id"]
    if not is_guid(contact_id):
        raise validation_error([FieldViolation("contactId", "must be a GUID", "FORMAT")])
    found = sandbox.state.contact(contact_id)
    if found is None or found[0] != _site(caller):
        raise app_error(404, "CONTACT_NOT_FOUND", f"contact {contact_id} not found")
    return {"contact": found[1], "responseType": "REGULAR"}


# conversations ------------------------------------------------------------------------------------------


def _display_name(contact: dict[str, Any]) -> str:
    name = contact.get("info", {}).get("name") or {}
    full = " ".join(p for p in (name.get("first"), name.get("last")) if isinstance(p, str) and p)
    return full or contact.get("primaryInfo", {}).get("email") or contact.get("primaryInfo", {}).get("phone") or ""


def conversation_doc(
    sandbox: Sandbox, site_id: str, participant: dict[str, str], contact: dict[str, Any] | None
) -> dict[str, Any]:
    """A new conversation's wire document."""
    site = sandbox.state.site(site_id)
    return {
        "id": new_guid(),
        "participant": participant,
        "businessDisplayData": {"name": site["name"] if site else ""},
        "participantDisplayData": {"name": _display_name(contact) if contact else "Visitor"},
    }


def _merged_send(sandbox: Sandbox, site_id: str, conversation_id: str) -> str:
    """Where a send to ``conversation_id`` goes under the ``mergedSend`` fault setting: the live conversation a
    merged-away one of the site ended in (``ACCEPTED``), a bare 404 (``NOT_FOUND``), or ``conversation_id`` itself
    (``CONVERSATION_NOT_FOUND``, the default: answered by :func:`_live_conversation`)."""
    settings = sandbox.faults.settings
    mode = settings.merged_send if settings is not None else "CONVERSATION_NOT_FOUND"
    conversation = sandbox.state.conversation(conversation_id) if is_guid(conversation_id) else None
    if mode == "CONVERSATION_NOT_FOUND" or conversation is None or conversation.site_id != site_id:
        return conversation_id
    if not conversation.merged_into:
        return conversation_id
    if mode == "NOT_FOUND":
        raise WixHTTPError(404, {"message": "Not Found", "details": {}})
    while conversation is not None and conversation.merged_into:
        conversation = sandbox.state.conversation(conversation.merged_into)
    return conversation.id if conversation is not None else conversation_id


def _live_conversation(sandbox: Sandbox, site_id: str, conversation_id: str, *, not_owned_code: bool) -> Conversation:
    """A conversation of the caller's site that was not merged away; Wix's 400/403/404 otherwise."""
    if not is_guid(conversation_id):
        raise validation_error([FieldViolation("conversationId", "must be a GUID", "FORMAT")])
    conversation = sandbox.state.conversation(conversation_id)
    if conversation is not None and conversation.site_id != site_id and not_owned_code:
        raise app_error(403, "NOT_OWNED_BY_BUSINESS", "conversation is not owned by this business")
    if conversation is None or conversation.site_id != site_id or conversation.merged_into:
        raise app_error(404, "CONVERSATION_NOT_FOUND", f"conversation {conversation_id} not found")
    return conversation


async def get_or_create_conversation(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """POST /inbox/v2/conversations."""
    body = await read_json(request)
    site_id = _site(caller)
    participant = body.get("participantId") if isinstance(body, dict) else None
    if not isinstance(participant, dict):
        raise validation_error([FieldViolation("participantId", "is required", "REQUIRED_FIELD")])
    given = {k: v for k, v in participant.items() if k in ("contactId", "memberId", "anonymousVisitorId") and v}
    if len(given) != 1:
        raise validation_error(
            [
                FieldViolation(
                    "participantId",
                    "must have exactly one of contactId, memberId, anonymousVisitorId",
                    "ONE_OF",
                )
            ]
        )
    kind, value = next(iter(given.items()))
    if not is_guid(value):
        raise validation_error([FieldViolation(f"participantId.{kind}", "must be a GUID", "FORMAT")])
    if kind == "anonymousVisitorId":
        doc = conversation_doc(sandbox, site_id, {"anonymousVisitorId": value}, None)
        conversation, new = sandbox.state.get_or_create_conversation(site_id, "visitor_id", value, doc)
        return {"conversation": conversation.doc, "newConversation": new}
    contact_id = value if kind == "contactId" else sandbox.state.contact_by_member(site_id, value)
    found = sandbox.state.contact(contact_id) if contact_id else None
    if found is None or found[0] != site_id:
        raise app_error(404, "PARTICIPANT_NOT_FOUND", f"{kind} {value} is not a participant of this site")
    _, contact, member_id = found
    shape = {"memberId": member_id, "contactId": contact["id"]} if member_id else {"contactId": contact["id"]}
    doc = conversation_doc(sandbox, site_id, shape, contact)
    conversation, new = sandbox.state.get_or_create_conversation(site_id, "contact_id", contact["id"], doc)
    return {"conversation": conversation.doc, "newConversation": new}


async def get_conversation(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """GET /inbox/v2/conversations/{conversationId}."""
    conversation_id = request.path_params["conversation_id"]
    request.state.conversation_id = conversation_id
    conversation = _live_conversation(sandbox, _site(caller), conversation_id, not_owned_code=True)
    return {"conversation": conversation.doc}


# messages -----------------------------------------------------------------------------------------------


async def send_message(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """POST /inbox/v2/messages."""
    assert caller is not None
    body = await read_json(request)
    if isinstance(body, dict) and isinstance(body.get("conversationId"), str):
        request.state.conversation_id = body["conversationId"]
    conversation_id, message, send_as, silent = validate_send(body)
    conversation_id = _merged_send(sandbox, caller.site_id, conversation_id)
    conversation = _live_conversation(sandbox, caller.site_id, conversation_id, not_owned_code=False)
    if send_as == "PARTICIPANT":
        if message["direction"] != "PARTICIPANT_TO_BUSINESS":
            raise app_error(
                400,
                "IDENTITY_DOES_NOT_MATCH",
                "a message sent as the participant must be PARTICIPANT_TO_BUSINESS",
            )
        sender = dict(conversation.doc["participant"])
    elif send_as == "BUSINESS_USER":
        site = sandbox.state.site(caller.site_id)
        sender = {"wixUserId": site["owner_id"] if site else caller.site_id}
    else:
        sender = dict(caller.identity)
    doc = stored_message(message, message_id=new_message_id(), sender=sender, app_id=caller.app_id, silent=silent)
    stored = sandbox.state.add_message(caller.site_id, conversation_id, doc)
    if stored is None:
        raise app_error(404, "CONVERSATION_NOT_FOUND", f"conversation {conversation_id} not found")
    return {"message": stored}


def _list_request(request: Request) -> dict[str, Any]:
    """List Messages parameters from the flat query string or the SDK's base64url ``.r`` form."""
    params = request.query_params
    if ".r" in params:
        encoded = params[".r"]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise validation_error([FieldViolation(".r", "is not base64url-encoded JSON", "FORMAT")]) from None
        if not isinstance(decoded, dict):
            raise validation_error([FieldViolation(".r", "must encode a JSON object", "TYPE")])
        return decoded
    out: dict[str, Any] = {}
    for key, value in params.items():
        target = out
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


def _int_param(value: Any, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise validation_error([FieldViolation(field, "must be an integer", "TYPE")]) from None


def _encode_cursor(conversation_id: str, sequence: int, descending: bool, visibility: str) -> str:
    raw = json.dumps({"c": conversation_id, "s": sequence, "d": descending, "v": visibility}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, conversation_id: str) -> tuple[int, bool, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data["c"] != conversation_id:
            raise ValueError("cursor of another conversation")
        return int(data["s"]), bool(data["d"]), str(data["v"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise validation_error([FieldViolation("paging.cursor", "is not a valid cursor", "FORMAT")]) from None


async def list_messages(request: Request, sandbox: Sandbox, caller: Caller | None) -> dict[str, Any]:
    """GET /inbox/v2/messages: newest first by sequence, cursor paging."""
    args = _list_request(request)
    conversation_id = args.get("conversationId")
    if not conversation_id:
        raise validation_error([FieldViolation("conversationId", "is required", "REQUIRED_FIELD")])
    request.state.conversation_id = str(conversation_id)
    paging = args.get("paging") or {}
    sorting = args.get("sorting") or {}
    if not isinstance(paging, dict) or not isinstance(sorting, dict):
        raise validation_error([FieldViolation("paging", "must be an object", "TYPE")])
    limit = _int_param(paging.get("limit", 30), "paging.limit")
    if not 1 <= limit <= 100:
        raise validation_error([FieldViolation("paging.limit", "must be between 1 and 100", "MAX")])
    visibility = args.get("visibility") or "BUSINESS_AND_PARTICIPANT"
    if visibility not in VISIBILITIES:
        raise validation_error(
            [FieldViolation("visibility", f"must be one of {', '.join(VISIBILITIES)}", "INVALID_ENUM_VALUE")]
        )
    if sorting.get("fieldName", "sequence") != "sequence":
        raise validation_error([FieldViolation("sorting.fieldName", "only sequence is supported", "OTHER")])
    order = sorting.get("order", "DESC")
    if order not in ("ASC", "DESC"):
        raise validation_error([FieldViolation("sorting.order", "must be ASC or DESC", "INVALID_ENUM_VALUE")])
    descending = order == "DESC"
    conversation = _live_conversation(sandbox, _site(caller), str(conversation_id), not_owned_code=False)
    after: int | None = None
    cursor = paging.get("cursor")
    if cursor:
        after, descending, visibility = _decode_cursor(str(cursor), conversation.id)
    everything = sandbox.state.messages(conversation.id, descending=descending, after=after)
    if visibility == "BUSINESS_AND_PARTICIPANT":
        everything = [m for m in everything if m.get("visibility") == "BUSINESS_AND_PARTICIPANT"]
    page = everything[:limit]
    cursors: dict[str, str] = {}
    if len(everything) > limit:
        cursors["next"] = _encode_cursor(conversation.id, int(page[-1]["sequence"]), descending, visibility)
    return {"messages": page, "pagingMetadata": {"count": len(page), "cursors": cursors}}


def wix_routes() -> list[Route]:
    """Every Wix path the sandbox answers."""
    return [
        Route("/oauth2/token", wix_route(oauth_token, authenticated=False), methods=["POST"]),
        Route("/contacts/v4/contacts/query", wix_route(query_contacts), methods=["POST"]),
        Route("/contacts/v4/contacts", wix_route(create_contact), methods=["POST"]),
        Route("/contacts/v4/contacts/{contact_id}", wix_route(get_contact), methods=["GET"]),
        Route("/inbox/v2/conversations", wix_route(get_or_create_conversation), methods=["POST"]),
        Route("/inbox/v2/conversations/{conversation_id}", wix_route(get_conversation), methods=["GET"]),
        Route("/inbox/v2/messages", wix_route(send_message), methods=["POST"]),
        Route("/inbox/v2/messages", wix_route(list_messages), methods=["GET"]),
    ]
