"""The dashboard's pages and form posts, behind the admin credentials.

Every form carries the browser's CSRF token (see :mod:`.csrf`); a successful post redirects (303) back to a page
with a short notice, so reloading does not repeat it. Every answer carries the hardening headers
(:mod:`inboxbridge.server.admin_headers`); a page's Content-Security-Policy lets only its own inline style and
script, marked with a nonce drawn for that answer, run.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from inboxbridge.server import admin_views
from inboxbridge.server.admin_headers import HardenedRoute, page_policy
from inboxbridge.server.admin_models import MAX_ID, IdPath, Offset
from inboxbridge.server.auth import require_admin
from inboxbridge.server.body import BodyTooLarge, read_body
from inboxbridge.server.context import ServerContext
from inboxbridge.server.dashboard import csrf
from inboxbridge.server.dashboard.render import page
from inboxbridge.store import EventStatus

__all__ = ["router"]

router = APIRouter(
    prefix="/admin", include_in_schema=False, dependencies=[Depends(require_admin)], route_class=HardenedRoute
)
PAGE_SIZE = 50
FORM_LIMIT = 64 * 1024
_NOTICES = {
    "replayed": "Replayed {n} event(s): back in the queue.",
    "dropped": "Dropped {n} event(s).",
    "reingested": "Re-ingested: {n} new event(s) stored; the request left the quarantine.",
    "deleted": "Deleted the quarantined request.",
}


def _service(request: Request) -> ServerContext:
    service: ServerContext = request.app.state.service
    return service


def _html(
    request: Request, template: str, *, status: int = 200, notice: str | None = None, **context: object
) -> HTMLResponse:
    service = _service(request)
    done = request.query_params.get("done")
    count = request.query_params.get("n", "")
    if notice is None and done in _NOTICES:
        notice = _NOTICES[done].format(n=count if count.isdigit() else "?")
    token, new_token = csrf.page_token(request)
    nonce = secrets.token_urlsafe(16)
    html = page(
        template,
        csrf=token,
        csp_nonce=nonce,
        notice=notice,
        notice_bad=status >= 400,
        tenant_names=sorted(service.tenants.names()),
        **context,
    )
    # Operator pages hold customer data: never cache them.
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": page_policy(nonce)}
    response = HTMLResponse(html, status_code=status, headers=headers)
    if new_token:
        csrf.set_cookie(request, response, token)
    return response


def _back(url: str, done: str, n: int | None = None) -> RedirectResponse:
    query = {"done": done} | ({"n": str(n)} if n is not None else {})
    separator = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{separator}{urlencode(query)}", status_code=303)


async def _form(request: Request) -> dict[str, list[str]]:
    """The posted form (urlencoded), after checking its CSRF token."""
    try:
        body = await read_body(request, FORM_LIMIT)
    except BodyTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    form = parse_qs(body.decode("utf-8", errors="replace"))
    csrf.verify(request, _first(form, csrf.FIELD))
    return form


def _first(form: dict[str, list[str]], name: str) -> str | None:
    value = (form.get(name) or [""])[0].strip()
    return value or None


def _when(value: str | None) -> datetime | None:
    """A datetime-local input (UTC) or ISO time; None when empty or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/", response_class=HTMLResponse)
async def overview_page(request: Request) -> HTMLResponse:
    """Every tenant's counts."""
    return _html(
        request,
        "overview.html",
        title="Overview",
        section="overview",
        tenants=await admin_views.overview(_service(request)),
    )


@router.get("", response_class=HTMLResponse)
async def overview_redirect() -> RedirectResponse:
    """``/admin`` → ``/admin/``."""
    return RedirectResponse("/admin/", status_code=308)


@router.get("/events", response_class=HTMLResponse)
async def events_page(
    request: Request,
    customer: str | None = None,
    tenant: str | None = None,
    source: str | None = None,
    status: str | None = None,
    after: str | None = None,
    before: str | None = None,
    offset: Offset = 0,
) -> HTMLResponse:
    """The searchable event list."""
    state = EventStatus(status) if status in set(EventStatus) else None
    where = admin_views.EventFilter(
        tenant or None, source or None, state, (customer or "").strip() or None, _when(after), _when(before)
    )
    rows = await admin_views.list_events(_service(request), where, limit=PAGE_SIZE + 1, offset=offset)
    params = {k: v for k, v in request.query_params.items() if k != "offset" and v}

    def at(new_offset: int) -> str:
        return "/admin/events?" + urlencode({**params, "offset": str(new_offset)})

    return _html(
        request,
        "events.html",
        title="Events",
        section="events",
        events=[admin_views.summary(row) for row in rows[:PAGE_SIZE]],
        f={
            "customer": customer,
            "tenant": tenant,
            "source": source,
            "status": status,
            "after": after,
            "before": before,
        },
        statuses=[s.value for s in EventStatus],
        prev_url=at(max(0, offset - PAGE_SIZE)) if offset else None,
        next_url=at(offset + PAGE_SIZE) if len(rows) > PAGE_SIZE else None,
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
async def event_page(request: Request, event_id: IdPath) -> HTMLResponse:
    """One event in full."""
    try:
        detail = await admin_views.event_detail(_service(request), event_id)
    except admin_views.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return _html(request, "event.html", title=f"Event {event_id}", section="events", e=detail)


@router.post("/events/{event_id}/replay")
async def replay_event(request: Request, event_id: IdPath) -> RedirectResponse:
    """Replay one dead event."""
    await _form(request)
    count = await admin_views.replay_dead(_service(request), [event_id], every=False, tenant=None, source=None)
    return _back(f"/admin/events/{event_id}", "replayed", count)


@router.post("/events/{event_id}/drop")
async def drop_event(request: Request, event_id: IdPath) -> RedirectResponse:
    """Delete one dead event."""
    await _form(request)
    count = await admin_views.drop_dead(_service(request), [event_id], every=False, tenant=None, source=None)
    return _back("/admin/dead-letters", "dropped", count)


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters_page(request: Request, tenant: str | None = None, source: str | None = None) -> HTMLResponse:
    """Dead events, with replay and drop."""
    where = admin_views.EventFilter(tenant=tenant or None, source=source or None, status=EventStatus.DEAD)
    rows = await admin_views.list_events(_service(request), where, limit=200)
    return _html(
        request,
        "dead.html",
        title="Dead letters",
        section="dead",
        events=[admin_views.summary(row) for row in rows],
        tenant=tenant,
        source=source,
    )


async def _dead_letter_action(request: Request) -> tuple[list[int], bool, str | None, str | None]:
    form = await _form(request)
    ids = [int(v) for v in form.get("ids", []) if v.isdigit() and 1 <= int(v) <= MAX_ID]
    every = _first(form, "all") == "1"
    if not ids and not every:
        raise HTTPException(422, "select dead letters first, or use the 'all matching' buttons")
    return ids, every, _first(form, "tenant"), _first(form, "source")


def _dead_letters_url(tenant: str | None, source: str | None) -> str:
    query = urlencode({k: v for k, v in (("tenant", tenant), ("source", source)) if v})
    return "/admin/dead-letters" + (f"?{query}" if query else "")


@router.post("/dead-letters/replay")
async def replay_dead(request: Request) -> RedirectResponse:
    """Replay the selected dead letters, or all matching the filter."""
    ids, every, tenant, source = await _dead_letter_action(request)
    count = await admin_views.replay_dead(_service(request), ids, every=every, tenant=tenant, source=source)
    return _back(_dead_letters_url(tenant, source), "replayed", count)


@router.post("/dead-letters/drop")
async def drop_dead(request: Request) -> RedirectResponse:
    """Delete the selected dead letters, or all matching the filter."""
    ids, every, tenant, source = await _dead_letter_action(request)
    count = await admin_views.drop_dead(_service(request), ids, every=every, tenant=tenant, source=source)
    return _back(_dead_letters_url(tenant, source), "dropped", count)


@router.get("/quarantine", response_class=HTMLResponse)
async def quarantine_page(request: Request) -> HTMLResponse:
    """Requests that could not be parsed."""
    rows = await _service(request).ledger.list_quarantine(limit=200)
    return _html(
        request,
        "quarantine.html",
        title="Quarantine",
        section="quarantine",
        rows=admin_views.quarantined_list(_service(request), rows),
    )


@router.get("/quarantine/{quarantine_id}", response_class=HTMLResponse)
async def quarantined_page(request: Request, quarantine_id: IdPath) -> HTMLResponse:
    """One quarantined request, with re-ingest and delete."""
    row = await _service(request).ledger.get_quarantine(quarantine_id)
    if row is None:
        raise HTTPException(404, f"no quarantined request {quarantine_id}")
    return _html(
        request,
        "quarantine_item.html",
        title=f"Quarantined {quarantine_id}",
        section="quarantine",
        q=admin_views.quarantined(_service(request), row),
    )


@router.post("/quarantine/{quarantine_id}/reingest", response_model=None)
async def reingest(request: Request, quarantine_id: IdPath) -> RedirectResponse | HTMLResponse:
    """Parse the request again with the current mapping; on success it leaves the quarantine."""
    await _form(request)
    service = _service(request)
    try:
        result = await admin_views.reingest(service, quarantine_id)
    except admin_views.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except admin_views.ReingestFailed as exc:
        row = await service.ledger.get_quarantine(quarantine_id)
        assert row is not None
        return _html(
            request,
            "quarantine_item.html",
            status=422,
            notice=str(exc),
            title=f"Quarantined {quarantine_id}",
            section="quarantine",
            q=admin_views.quarantined(_service(request), row),
        )
    if result.event_ids:
        return _back(f"/admin/events/{result.event_ids[0]}", "reingested", result.accepted)
    return _back("/admin/quarantine", "reingested", 0)


@router.post("/quarantine/{quarantine_id}/delete")
async def delete_quarantined(request: Request, quarantine_id: IdPath) -> RedirectResponse:
    """Forget the request."""
    await _form(request)
    if not await _service(request).ledger.delete_quarantine(quarantine_id):
        raise HTTPException(404, f"no quarantined request {quarantine_id}")
    return _back("/admin/quarantine", "deleted")
