"""``POST /wix/webhooks``: Wix's own events for our app, as JWTs signed with the app's key.

- App Instance Installed: the site becomes a tenant named by its instance id (stored, so every node serves it),
  with the ``[wix_app.sources]`` template and OAuth tokens for the instance; a reinstalled site's parked events
  go back to the queue.
- App Instance Removed: the site's tenant is stopped and its pending events parked; its webhooks are still
  accepted and parked, until the app is installed again.
- Conversations merged: the cached ids of the merged-away conversations are dropped, so the next message of
  those contacts asks Wix for the conversation that now holds the history.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from inboxbridge.server.body import BodyTooLarge, read_body
from inboxbridge.server.context import ServerContext
from inboxbridge.store import StoreUnavailable, TenantStatus
from inboxbridge.tenants import installed_tenant_name

__all__ = ["APP_INSTALLED", "APP_REMOVED", "CONVERSATIONS_MERGED", "WixEventError", "decode_wix_event", "router"]

log = structlog.get_logger("inboxbridge.wix_events")
router = APIRouter()
CONVERSATIONS_MERGED = "wix.crm.inbox.v2.conversation_conversations_merged"
APP_INSTALLED = "AppInstalled"
APP_REMOVED = "AppRemoved"


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
    """Verify a Wix app webhook and act on it: app installed or removed, conversations merged."""
    service: ServerContext = request.app.state.service
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
    try:
        if event_type == APP_INSTALLED:
            return await _installed(service, instance_id)
        if event_type == APP_REMOVED:
            return await _removed(service, instance_id)
        if event_type == CONVERSATIONS_MERGED:
            return await _merged(service, instance_id, event)
    except StoreUnavailable:
        return JSONResponse({"error": "the store is unavailable; retry later"}, status_code=503)
    log.info("wix event ignored", event_type=event_type, instance_id=instance_id)
    return JSONResponse({"eventType": event_type, "handled": False})


async def _tenants_of(service: ServerContext, instance_id: str) -> list[str]:
    """The configured tenants acting as the instance, and the tenant the instance's install made."""
    names = [t.name for t in service.tenants.of_instance(instance_id)]
    installed = installed_tenant_name(instance_id)
    if installed and installed not in names and await service.tenants.lookup(installed) is not None:
        names.append(installed)
    return names


async def _installed(service: ServerContext, instance_id: str) -> JSONResponse:
    tenants = await _tenants_of(service, instance_id)
    if not tenants:
        name = installed_tenant_name(instance_id)
        if name is None or not service.tenants.can_install():
            reason = "no usable instance id" if name is None else "[wix_app] has no app_secret to fetch its tokens"
            log.warning("app install not served", instance_id=instance_id, reason=reason)
            return JSONResponse({"eventType": APP_INSTALLED, "handled": False, "reason": reason})
        await service.ledger.upsert_tenant(name, status=TenantStatus.ACTIVE, instance_id=instance_id)
        service.tenants.install(name, instance_id)
        tenants = [name]
    unparked = 0
    for name in tenants:
        unparked += await service.queue.start_tenant(name)
    service.wake_worker()
    log.info("app installed", instance_id=instance_id, tenants=tenants, unparked=unparked)
    return JSONResponse({"eventType": APP_INSTALLED, "handled": True, "tenants": tenants, "unparked": unparked})


async def _removed(service: ServerContext, instance_id: str) -> JSONResponse:
    tenants = await _tenants_of(service, instance_id)
    parked = 0
    for name in tenants:
        parked += await service.queue.stop_tenant(name)
    log.info("app removed", instance_id=instance_id, tenants=tenants, parked=parked)
    return JSONResponse({"eventType": APP_REMOVED, "handled": bool(tenants), "tenants": tenants, "parked": parked})


async def _merged(service: ServerContext, instance_id: str, event: dict[str, Any]) -> JSONResponse:
    tenants = await _tenants_of(service, instance_id)
    body_of = (event["data"].get("actionEvent") or {}).get("body") or {}
    old_ids = [i for i in body_of.get("oldConversationIds") or [] if isinstance(i, str)]
    dropped = 0
    for tenant in tenants:
        dropped += await service.ids.drop_cached_conversations(tenant, old_ids)
    log.info("conversations merged", instance_id=instance_id, tenants=tenants, dropped=dropped)
    return JSONResponse({"eventType": CONVERSATIONS_MERGED, "handled": True, "tenants": tenants, "dropped": dropped})
