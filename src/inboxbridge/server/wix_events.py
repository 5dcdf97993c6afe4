"""``POST /wix/webhooks``: Wix's own events for our app, as JWTs signed with the app's key.

A conversations-merged event makes the cached ids of the merged-away conversations useless: they are dropped so
the next message of those contacts asks Wix for the conversation that now holds the history.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from inboxbridge.server.body import BodyTooLarge, read_body
from inboxbridge.service import Service
from inboxbridge.store import StoreUnavailable

__all__ = ["CONVERSATIONS_MERGED", "WixEventError", "decode_wix_event", "router"]

log = structlog.get_logger("inboxbridge.wix_events")
router = APIRouter()
CONVERSATIONS_MERGED = "wix.crm.inbox.v2.conversation_conversations_merged"


class WixEventError(Exception):
    """The body is not a valid Wix app webhook."""


def decode_wix_event(token: bytes, public_key: str) -> dict[str, Any]:
    """The event envelope (``eventType``, ``instanceId``, ``data`` decoded) of a verified Wix webhook JWT."""
    try:
        claims = jwt.decode(token.decode("ascii").strip(), public_key, algorithms=["RS256"])
    except (jwt.InvalidTokenError, UnicodeDecodeError) as exc:
        raise WixEventError(f"not a JWT signed by the app's key: {exc}") from None
    try:
        envelope = json.loads(claims["data"])
        data = envelope.get("data")
        envelope["data"] = json.loads(data) if isinstance(data, str) else (data or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WixEventError(f"the JWT's data is not a Wix event envelope: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("eventType"), str):
        raise WixEventError("the event has no eventType")
    return envelope


@router.post(
    "/wix/webhooks",
    summary="Receive Wix's webhooks for the app",
    responses={
        200: {"description": "Handled, or an event this service does not need"},
        401: {"description": "Not signed by the configured app's key"},
        404: {"description": "No Wix app is configured"},
    },
)
async def receive_wix_event(request: Request) -> JSONResponse:
    """Verify a Wix app webhook and act on it (conversations merged: drop cached conversation ids)."""
    service: Service = request.app.state.service
    app = service.settings.wix_app
    if app is None:
        return JSONResponse({"error": "no Wix app is configured ([wix_app] in the config)"}, status_code=404)
    try:
        body = await read_body(request, service.settings.max_body_bytes)
        event = decode_wix_event(body, app.public_key)
    except BodyTooLarge as exc:
        return JSONResponse({"error": str(exc)}, status_code=413)
    except WixEventError as exc:
        return JSONResponse({"error": str(exc)}, status_code=401)
    event_type = event["eventType"]
    instance_id = str(event.get("instanceId") or "")
    tenants = service.settings.tenants_of_instance(instance_id)
    if event_type != CONVERSATIONS_MERGED:
        log.info("wix event ignored", event_type=event_type, instance_id=instance_id)
        return JSONResponse({"eventType": event_type, "handled": False})
    body_of = (event["data"].get("actionEvent") or {}).get("body") or {}
    old_ids = [i for i in body_of.get("oldConversationIds") or [] if isinstance(i, str)]
    dropped = 0
    try:
        for tenant in tenants:
            dropped += await service.store.drop_cached_conversations(tenant, old_ids)
    except StoreUnavailable:
        return JSONResponse({"error": "the store is unavailable; retry later"}, status_code=503)
    log.info("conversations merged", instance_id=instance_id, tenants=tenants, dropped=dropped)
    return JSONResponse({"eventType": event_type, "handled": True, "tenants": tenants, "dropped": dropped})
