"""``POST /wix/webhooks``: Wix's own events for our app, as JWTs signed with the app's key.

- App Instance Installed: the site becomes a tenant named by its instance id (stored, so every node serves it),
  with the ``[wix_app.sources]`` template (each secret the site's own) and OAuth tokens for the instance; a
  reinstalled site's parked events go back to the queue.
- App Instance Removed: the site's tenant is stopped and its pending events parked; its webhooks are still
  accepted and parked, until the app is installed again.
- Conversations merged: the cached ids of the merged-away conversations are dropped, so the next message of
  those contacts asks Wix for the conversation that now holds the history.

An event acts only on the tenants of its instance: those configured with that ``instance_id`` and the one its
install made, never a tenant that merely has the instance id as its name. A JWT must carry ``exp`` and ``iat``, be
at most ``MAX_AGE_SECONDS`` old, and each event is handled once: its id (or, for events without one, the token) is
remembered in the store until the token would be refused anyway, so a captured event posted again (an App Removed
after the site installed the app again) does nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from jwt.types import Options

from inboxbridge.server.body import BodyTooLarge, read_body
from inboxbridge.server.context import ServerContext
from inboxbridge.store import StoreUnavailable, TenantStatus
from inboxbridge.tenants import installed_tenant_name

__all__ = [
    "APP_INSTALLED",
    "APP_REMOVED",
    "CONVERSATIONS_MERGED",
    "LEEWAY_SECONDS",
    "MAX_AGE_SECONDS",
    "SEEN_SCOPE",
    "WixEvent",
    "WixEventError",
    "decode_wix_event",
    "router",
]

log = structlog.get_logger("inboxbridge.wix_events")
router = APIRouter()
CONVERSATIONS_MERGED = "wix.crm.inbox.v2.conversation_conversations_merged"
APP_INSTALLED = "AppInstalled"
APP_REMOVED = "AppRemoved"
LEEWAY_SECONDS = 60
"""How far our clock and Wix's may disagree (Wix's SDK verifies with a small leeway too)."""
MAX_AGE_SECONDS = 3600
"""How long after Wix signed it an event is accepted, whatever its ``exp`` says."""
SEEN_SCOPE = "wix-app-event"
"""The store's seen-tokens scope of the events handled."""
_CLAIMS: Options = {
    "require": ["exp", "iat"],
    # Claims Wix may add that we have no value to check against: as Wix's SDK, do not fail on them.
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


class WixEventError(Exception):
    """The body is not a valid Wix app webhook."""


@dataclass(frozen=True)
class WixEvent:
    """A verified Wix app webhook: the envelope's fields, and what tells it apart from every other event."""

    event_type: str
    instance_id: str
    data: dict[str, Any]
    replay_key: str
    """A digest of the event's id (domain events carry one) and instance, or of the token itself for events
    without an id (App Instance Installed and Removed)."""
    accepted_until: datetime
    """The last moment the token is accepted (its ``exp``, or ``MAX_AGE_SECONDS`` after ``iat``, and the leeway):
    it must be remembered at least that long."""


def decode_wix_event(token: bytes, public_key: str) -> WixEvent:
    """The event in a Wix webhook JWT, verified: signed by the app's key, with ``exp`` not passed and ``iat`` at
    most ``MAX_AGE_SECONDS`` ago (``LEEWAY_SECONDS`` of clock difference allowed each way)."""
    try:
        text = token.decode("ascii").strip()
        claims = jwt.decode(text, public_key, algorithms=["RS256"], leeway=LEEWAY_SECONDS, options=_CLAIMS)
    except (jwt.DecodeError, jwt.InvalidAlgorithmError, UnicodeDecodeError) as exc:
        raise WixEventError(f"not a JWT signed by the app's key: {exc}") from None
    except jwt.InvalidTokenError as exc:
        raise WixEventError(f"the app's JWT cannot be accepted now: {exc}") from None
    issued_at, expires_at = int(claims["iat"]), int(claims["exp"])
    age = time.time() - issued_at
    if age > MAX_AGE_SECONDS + LEEWAY_SECONDS:
        raise WixEventError(
            f"the app's JWT was issued {age:.0f} seconds ago (iat); an event older than {MAX_AGE_SECONDS} seconds "
            "is refused, as it may be a replay"
        )
    try:
        envelope = json.loads(claims["data"])
        data = envelope.get("data")
        data = json.loads(data) if isinstance(data, str) else (data or {})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WixEventError(f"the JWT's data is not a Wix event envelope: {exc}") from None
    if not isinstance(envelope.get("eventType"), str):
        raise WixEventError("the event has no eventType")
    if not isinstance(data, dict):
        raise WixEventError("the event's data is not a JSON object")
    instance_id = str(envelope.get("instanceId") or "")
    event_id = data.get("id")
    material = f"event\0{instance_id}\0{event_id}" if isinstance(event_id, str) and event_id else f"token\0{text}"
    last = min(expires_at, issued_at + MAX_AGE_SECONDS) + LEEWAY_SECONDS
    return WixEvent(
        event_type=envelope["eventType"],
        instance_id=instance_id,
        data=data,
        replay_key=hashlib.sha256(material.encode()).hexdigest(),
        accepted_until=datetime.fromtimestamp(last, UTC),
    )


@router.post(
    "/wix/webhooks",
    summary="Receive Wix's webhooks for the app",
    responses={
        200: {"description": "Handled, received before (not handled again), or an event this service does not need"},
        401: {"description": "Not signed by the configured app's key, without exp or iat, expired or too old"},
        404: {"description": "No Wix app is configured"},
    },
)
async def receive_wix_event(request: Request) -> JSONResponse:
    """Verify a Wix app webhook and act on it once: app installed or removed, conversations merged."""
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
    handler = _HANDLERS.get(event.event_type)
    if handler is None:
        log.info("wix event ignored", event_type=event.event_type, instance_id=event.instance_id)
        return JSONResponse({"eventType": event.event_type, "handled": False})
    try:
        return await _handle_once(service, event, handler)
    except StoreUnavailable:
        return JSONResponse({"error": "the store is unavailable; retry later"}, status_code=503)


Handler = Callable[[ServerContext, WixEvent], Awaitable[JSONResponse]]


async def _handle_once(service: ServerContext, event: WixEvent, handler: Handler) -> JSONResponse:
    if not await service.ledger.remember_token(SEEN_SCOPE, event.replay_key, event.accepted_until):
        log.warning("wix event received again, not handled", event_type=event.event_type, instance_id=event.instance_id)
        return JSONResponse(
            {
                "eventType": event.event_type,
                "handled": False,
                "reason": "this event was received before; each event is handled once",
            }
        )
    try:
        return await handler(service, event)
    except Exception:
        # Not handled after all: Wix's retry of it must be handled, not taken for a replay.
        with contextlib.suppress(StoreUnavailable):
            await service.ledger.forget_token(SEEN_SCOPE, event.replay_key)
        raise


async def _tenants_of(service: ServerContext, instance_id: str) -> list[str]:
    """The tenants acting as the instance: those configured with its instance id, and the tenant its install made.
    A tenant whose name merely equals the instance id (an API-key tenant, say) is not one of them."""
    names = [t.name for t in service.tenants.of_instance(instance_id)]
    installed = installed_tenant_name(instance_id)
    if installed and installed not in names:
        tenant = await service.tenants.lookup(installed)
        if tenant is not None and tenant.instance_id == instance_id:
            names.append(installed)
    return names


async def _installed(service: ServerContext, event: WixEvent) -> JSONResponse:
    instance_id = event.instance_id
    tenants = await _tenants_of(service, instance_id)
    if not tenants:
        name = installed_tenant_name(instance_id)
        if name is None:
            return _install_not_served(instance_id, "no usable instance id")
        if not service.tenants.can_install():
            return _install_not_served(instance_id, "[wix_app] has no app_secret to fetch its tokens")
        if await service.tenants.lookup(name) is not None:
            return _install_not_served(instance_id, f"{name!r} is the name of a configured tenant of no such instance")
        await service.ledger.upsert_tenant(name, status=TenantStatus.ACTIVE, instance_id=instance_id)
        service.tenants.install(name, instance_id)
        tenants = [name]
    unparked = 0
    for name in tenants:
        unparked += await service.queue.start_tenant(name)
    service.wake_worker()
    log.info("app installed", instance_id=instance_id, tenants=tenants, unparked=unparked)
    return JSONResponse({"eventType": APP_INSTALLED, "handled": True, "tenants": tenants, "unparked": unparked})


def _install_not_served(instance_id: str, reason: str) -> JSONResponse:
    log.warning("app install not served", instance_id=instance_id, reason=reason)
    return JSONResponse({"eventType": APP_INSTALLED, "handled": False, "reason": reason})


async def _removed(service: ServerContext, event: WixEvent) -> JSONResponse:
    tenants = await _tenants_of(service, event.instance_id)
    parked = 0
    for name in tenants:
        parked += await service.queue.stop_tenant(name)
    log.info("app removed", instance_id=event.instance_id, tenants=tenants, parked=parked)
    return JSONResponse({"eventType": APP_REMOVED, "handled": bool(tenants), "tenants": tenants, "parked": parked})


async def _merged(service: ServerContext, event: WixEvent) -> JSONResponse:
    tenants = await _tenants_of(service, event.instance_id)
    body_of = (event.data.get("actionEvent") or {}).get("body") or {}
    old_ids = [i for i in body_of.get("oldConversationIds") or [] if isinstance(i, str)]
    dropped = 0
    for tenant in tenants:
        dropped += await service.ids.drop_cached_conversations(tenant, old_ids)
    log.info("conversations merged", instance_id=event.instance_id, tenants=tenants, dropped=dropped)
    return JSONResponse({"eventType": CONVERSATIONS_MERGED, "handled": True, "tenants": tenants, "dropped": dropped})


_HANDLERS: dict[str, Handler] = {APP_INSTALLED: _installed, APP_REMOVED: _removed, CONVERSATIONS_MERGED: _merged}
