"""``/admin/api/...``: the JSON admin API (tenants, events, dead letters, quarantine) behind the admin
credentials; described in the service's OpenAPI document. Every answer carries the hardening headers
(:mod:`inboxbridge.server.admin_headers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from inboxbridge.server import admin_views
from inboxbridge.server.admin_headers import HardenedRoute
from inboxbridge.server.admin_models import (
    DeadLetterAction,
    Dropped,
    EventDetail,
    EventSummary,
    IdPath,
    Offset,
    QuarantinedRequest,
    Reingested,
    Replayed,
    TenantOverview,
)
from inboxbridge.server.auth import require_admin
from inboxbridge.server.context import ServerContext
from inboxbridge.store import EventStatus

__all__ = ["router"]

_AUTH_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "Missing or wrong admin credentials"},
    403: {"description": "No [admin] configured, or a cross-site request"},
}
router = APIRouter(
    prefix="/admin/api",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=_AUTH_ERRORS,
    route_class=HardenedRoute,
)


def _service(request: Request) -> ServerContext:
    service: ServerContext = request.app.state.service
    return service


@router.get("/tenants", summary="Every tenant's counts, backlog age and latest error")
async def tenants(request: Request) -> list[TenantOverview]:
    """One row per tenant: accepted, delivered, pending, retrying, dead, parked, oldest pending age, last error."""
    return await admin_views.overview(_service(request))


@router.get("/events", summary="Search events, newest first")
async def events(
    request: Request,
    tenant: str | None = None,
    source: str | None = None,
    status: EventStatus | None = None,
    customer: Annotated[str | None, Query(description="any part of the customer's email or phone")] = None,
    occurred_after: datetime | None = None,
    occurred_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[EventSummary]:
    """Events matching every filter given."""
    where = admin_views.EventFilter(tenant, source, status, customer, occurred_after, occurred_before)
    rows = await admin_views.list_events(_service(request), where, limit=limit, offset=offset)
    return [admin_views.summary(row) for row in rows]


@router.get("/events/{event_id}", summary="One event in full", responses={404: {"description": "No such event"}})
async def event(request: Request, event_id: IdPath) -> EventDetail:
    """The event's payload (secrets masked), the Wix message it becomes, every try with Wix's answer, links."""
    try:
        return await admin_views.event_detail(_service(request), event_id)
    except admin_views.NotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/events/{event_id}/replay", summary="Replay one dead event")
async def replay_event(request: Request, event_id: IdPath) -> Replayed:
    """Back to the queue if it is dead (``replayed`` 0 otherwise)."""
    count = await admin_views.replay_dead(_service(request), [event_id], every=False, tenant=None, source=None)
    return Replayed(replayed=count)


@router.get("/dead-letters", summary="Dead events, newest first")
async def dead_letters(
    request: Request,
    tenant: str | None = None,
    source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[EventSummary]:
    """Events that will not be tried again until replayed, with the reason in ``last_error``."""
    where = admin_views.EventFilter(tenant=tenant, source=source, status=EventStatus.DEAD)
    rows = await admin_views.list_events(_service(request), where, limit=limit, offset=offset)
    return [admin_views.summary(row) for row in rows]


@router.post(
    "/dead-letters/replay",
    summary="Replay dead events",
    responses={422: {"description": "Neither ids nor all given"}},
)
async def replay_dead(request: Request, action: DeadLetterAction) -> Replayed:
    """Back to the queue, their retry schedule started over: ``ids``, or ``all`` (of ``tenant``, ``source``)."""
    try:
        count = await admin_views.replay_dead(
            _service(request), action.ids, every=action.all, tenant=action.tenant, source=action.source
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return Replayed(replayed=count)


@router.post(
    "/dead-letters/drop",
    summary="Delete dead events",
    responses={422: {"description": "Neither ids nor all given"}},
)
async def drop_dead(request: Request, action: DeadLetterAction) -> Dropped:
    """Delete with their tries: ``ids``, or ``all`` (of ``tenant``, ``source``). Only dead events are deleted."""
    try:
        count = await admin_views.drop_dead(
            _service(request), action.ids, every=action.all, tenant=action.tenant, source=action.source
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return Dropped(dropped=count)


@router.get("/quarantine", summary="Requests that could not be parsed, newest first")
async def quarantine(
    request: Request,
    tenant: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[QuarantinedRequest]:
    """Each with why it was refused, its URL and headers (credentials masked) and body."""
    rows = await _service(request).ledger.list_quarantine(tenant or None, limit=limit, offset=offset)
    return admin_views.quarantined_list(_service(request), rows)


@router.get(
    "/quarantine/{quarantine_id}",
    summary="One quarantined request",
    responses={404: {"description": "No such request"}},
)
async def quarantined(request: Request, quarantine_id: IdPath) -> QuarantinedRequest:
    """The request as received."""
    row = await _service(request).ledger.get_quarantine(quarantine_id)
    if row is None:
        raise HTTPException(404, f"no quarantined request {quarantine_id}")
    return admin_views.quarantined(_service(request), row)


@router.post(
    "/quarantine/{quarantine_id}/reingest",
    summary="Parse a quarantined request again and store its events",
    responses={404: {"description": "No such request"}, 422: {"description": "Still unreadable"}},
)
async def reingest(request: Request, quarantine_id: IdPath) -> Reingested:
    """After fixing the source's mapping (and restarting): parse with the current mapping, store the events,
    and delete the request from quarantine."""
    try:
        return await admin_views.reingest(_service(request), quarantine_id)
    except admin_views.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except admin_views.ReingestFailed as exc:
        raise HTTPException(422, str(exc)) from None


@router.delete(
    "/quarantine/{quarantine_id}",
    summary="Delete a quarantined request",
    responses={404: {"description": "No such request"}},
)
async def delete_quarantined(request: Request, quarantine_id: IdPath) -> dict[str, bool]:
    """Forget the request."""
    if not await _service(request).ledger.delete_quarantine(quarantine_id):
        raise HTTPException(404, f"no quarantined request {quarantine_id}")
    return {"deleted": True}
