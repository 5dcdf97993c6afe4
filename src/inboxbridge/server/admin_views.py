"""What an operator can see and do, over the service's store and tenants: the admin API and the dashboard both
call these functions, so the JSON and the pages always agree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from inboxbridge import dead_letters
from inboxbridge.config import DeliverySettings, Settings, SourceSettings
from inboxbridge.pipeline import render
from inboxbridge.providers import SourceError, WebhookRequest
from inboxbridge.providers.helpers.shared_secret import SharedSecretConfig
from inboxbridge.server.admin_models import (
    Attempt,
    EventDetail,
    EventSummary,
    Link,
    QuarantinedRequest,
    Reingested,
    TenantOverview,
)
from inboxbridge.server.context import ServerContext
from inboxbridge.server.masking import mask, mask_headers, mask_url
from inboxbridge.store import EventRow, EventStatus, QuarantineRow
from inboxbridge.wix import ApiKeyAuth
from inboxbridge.wix.client import DEFAULT_BASE_URL

__all__ = [
    "EventFilter",
    "NotFound",
    "ReingestFailed",
    "credential_parameters",
    "drop_dead",
    "event_detail",
    "list_events",
    "overview",
    "quarantined",
    "quarantined_list",
    "reingest",
    "replay_dead",
    "summary",
]

RETRY_SCAN_LIMIT = 1000
"""How many pending events the overview reads to count those that failed before (the store counts by status)."""
PAGE = 500
"""Rows read per query when scanning."""


class NotFound(Exception):
    """No such event or quarantined request."""


class ReingestFailed(Exception):
    """The quarantined request still cannot be parsed, or has no tenant and source to parse it with."""


@dataclass(frozen=True)
class EventFilter:
    """The event list's search: every field given must match."""

    tenant: str | None = None
    source: str | None = None
    status: EventStatus | None = None
    customer: str | None = None
    """Any part of the email address or phone number."""
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None


async def overview(service: ServerContext) -> list[TenantOverview]:
    """Every tenant's counts, backlog age and latest error."""
    ledger = service.ledger
    rows = {row.id: row for row in await ledger.list_tenants()}
    result = []
    for name in sorted(set(rows) | set(service.tenants.names())):
        counts = await ledger.counts(name)
        retrying, exact, latest = await _retrying(service, name)
        dead = await ledger.list_events(tenant=name, status=EventStatus.DEAD, limit=1)
        newest = max([*dead, *latest], key=lambda r: r.id, default=None)
        row = rows.get(name)
        result.append(
            TenantOverview(
                tenant=name,
                status=row.status.value if row else "active",
                instance_id=row.instance_id if row and row.instance_id else _instance_of(service, name),
                accepted=sum(counts.values()),
                delivered=counts["delivered"],
                pending=counts["pending"],
                in_flight=counts["in_flight"],
                retrying=retrying,
                retrying_exact=exact,
                dead=counts["dead"],
                parked=counts["parked"],
                oldest_pending_age_seconds=await ledger.oldest_pending_age(name),
                last_error=newest.last_error if newest else None,
                last_error_event_id=newest.id if newest else None,
            )
        )
    return result


def _instance_of(service: ServerContext, name: str) -> str | None:
    tenant = service.tenants.get(name)
    return tenant.instance_id if tenant else None


async def _retrying(service: ServerContext, tenant: str) -> tuple[int, bool, list[EventRow]]:
    """Pending events that failed before (up to the scan limit), whether that is all, and the newest of them."""
    count = 0
    newest: list[EventRow] = []
    for offset in range(0, RETRY_SCAN_LIMIT, PAGE):
        page = await service.ledger.list_events(tenant=tenant, status=EventStatus.PENDING, limit=PAGE, offset=offset)
        failed = [row for row in page if row.attempts > 0]
        count += len(failed)
        if failed and not newest:
            newest = [failed[0]]
        if len(page) < PAGE:
            return count, True, newest
    return count, False, newest


def summary(row: EventRow) -> EventSummary:
    """The list form of a stored event."""
    event = row.event
    preview = " · ".join(part for part in (event.title, event.text) if part)
    return EventSummary(
        id=row.id,
        tenant=row.tenant_id,
        source=row.source,
        kind=row.kind,
        status=row.status.value,
        customer=row.customer_key,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        attempts=row.attempts,
        last_error=row.last_error,
        conversation_id=row.conversation_id,
        wix_message_id=row.wix_message_id,
        delivered_at=row.delivered_at,
        preview=preview[:160],
    )


async def list_events(
    service: ServerContext, where: EventFilter, *, limit: int = 50, offset: int = 0
) -> list[EventRow]:
    """Events matching ``where``, newest first."""
    return await service.ledger.list_events(
        tenant=where.tenant or None,
        status=where.status,
        source=where.source or None,
        email=where.customer or None,
        occurred_after=where.occurred_after,
        occurred_before=where.occurred_before,
        limit=limit,
        offset=offset,
    )


async def event_detail(service: ServerContext, event_id: int) -> EventDetail:
    """Everything known about one event; raises NotFound."""
    row = await service.ledger.get_event(event_id)
    if row is None:
        raise NotFound(f"no event {event_id}")
    tenant = await service.tenants.lookup(row.tenant_id)
    delivery = tenant.delivery(row.source) if tenant else DeliverySettings()
    rendered: dict[str, Any] | None = None
    render_error: str | None = None
    try:
        rendered = render(row.event, delivery).to_send_wire()
    except (ValueError, AssertionError) as exc:
        render_error = f"{type(exc).__name__}: {exc}"
    attempts = [
        Attempt(
            started_at=a.started_at,
            finished_at=a.finished_at,
            outcome=a.outcome,
            wix_status=a.wix_status,
            wix_code=a.wix_code,
            wix_message=a.wix_message,
            wix_request_id=a.wix_request_id,
            conversation_id=a.conversation_id,
            message_id=a.message_id,
            detail=a.detail,
        )
        for a in await service.ledger.attempts(event_id)
    ]
    site_id = tenant.site.auth.site_id if tenant and isinstance(tenant.site.auth, ApiKeyAuth) else None
    return EventDetail(
        **summary(row).model_dump(),
        next_attempt_at=row.next_attempt_at,
        send_state=row.send_state.value,
        payload=mask(row.event.raw),
        event=mask(row.event.model_dump(mode="json", exclude={"raw"})),
        rendered=rendered,
        render_error=render_error,
        attempt_history=attempts,
        links=_links(service, site_id, row.conversation_id),
    )


def _links(service: ServerContext, site_id: str | None, conversation_id: str | None) -> list[Link]:
    if conversation_id is None:
        return []
    base = service.wix_base_url
    if base != DEFAULT_BASE_URL:
        # A sandbox (built-in or not): its Inbox page and the conversations as JSON.
        page = f"{base}/?{urlencode({'site': site_id})}" if site_id else f"{base}/"
        links = [Link(label=f"sandbox Inbox page (conversation {conversation_id})", url=page)]
        if site_id:
            json_url = f"{base}/_sandbox/sites/{site_id}/conversations"
            links.append(Link(label="sandbox conversations (JSON)", url=json_url))
        return links
    if site_id:
        inbox = f"https://manage.wix.com/dashboard/{site_id}/inbox"
        return [Link(label="the site's Inbox in the Wix dashboard", url=inbox)]
    return []


async def replay_dead(
    service: ServerContext, ids: list[int], *, every: bool, tenant: str | None, source: str | None
) -> int:
    """Dead events back to the queue (see :func:`inboxbridge.dead_letters.replay`), the worker woken."""
    count = await dead_letters.replay(service.queue, ids, every=every, tenant=tenant, source=source)
    if count:
        service.wake_worker()
    return count


async def drop_dead(
    service: ServerContext, ids: list[int], *, every: bool, tenant: str | None, source: str | None
) -> int:
    """Delete dead events (see :func:`inboxbridge.dead_letters.drop`)."""
    return await dead_letters.drop(service.ledger, ids, every=every, tenant=tenant, source=source)


def credential_parameters(settings: Settings) -> frozenset[str]:
    """The URL query parameters that sources of this deployment read their token from (``token_parameter``).

    All of them, not only the quarantined request's own source's: a request kept before its source's config
    changed, or of a tenant since removed, may carry a parameter its source no longer names.
    """
    tables: list[dict[str, SourceSettings]] = [tenant.sources for tenant in settings.tenants.values()]
    if settings.wix_app is not None:
        tables.append(settings.wix_app.sources)
    return frozenset(
        entry.config.token_parameter
        for table in tables
        for entry in table.values()
        if isinstance(entry.config, SharedSecretConfig) and entry.config.token is not None
    )


def quarantined(service: ServerContext, row: QuarantineRow) -> QuarantinedRequest:
    """A quarantined request for display, every credential masked: secret-looking headers and query parameters,
    the parameters sources read their token from, basic-auth credentials in headers and URLs."""
    return _shown(row, credential_parameters(service.settings))


def quarantined_list(service: ServerContext, rows: list[QuarantineRow]) -> list[QuarantinedRequest]:
    """:func:`quarantined` for each of ``rows``."""
    parameters = credential_parameters(service.settings)
    return [_shown(row, parameters) for row in rows]


def _shown(row: QuarantineRow, parameters: frozenset[str]) -> QuarantinedRequest:
    return QuarantinedRequest(
        id=row.id,
        tenant=row.tenant,
        source=row.source,
        kind=row.kind,
        reason=row.reason,
        method=row.method,
        url=mask_url(row.url, parameters),
        received_at=row.received_at,
        hits=row.hits,
        last_seen_at=row.last_seen_at or row.received_at,
        headers=mask_headers(row.headers, parameters),
        body=row.body.decode("utf-8", errors="replace"),
        body_bytes=len(row.body),
    )


async def reingest(service: ServerContext, quarantine_id: int) -> Reingested:
    """Parse a quarantined request again with its source's current mapping and store the events; the request
    leaves the quarantine once they are committed. Raises NotFound or ReingestFailed."""
    row = await service.ledger.get_quarantine(quarantine_id)
    if row is None:
        raise NotFound(f"no quarantined request {quarantine_id}")
    tenant = await service.tenants.lookup(row.tenant) if row.tenant else None
    source = tenant.sources.get(row.source) if tenant and row.source else None
    if tenant is None or source is None:
        raise ReingestFailed(f"tenant {row.tenant!r} has no source {row.source!r} configured")
    parts = urlsplit(row.url)
    # The signature was checked when the request arrived; only the parsing failed.
    webhook = WebhookRequest(
        method=row.method,
        url=row.url,
        path=parts.path,
        query=dict(parse_qsl(parts.query)),
        headers={str(k): str(v) for k, v in row.headers.items()},
        body=row.body,
        received_at=row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=UTC),
    )
    try:
        events = source.parse(webhook, tenant=tenant.name)
    except SourceError as exc:
        raise ReingestFailed(f"still unreadable: {exc.reason}") from None
    results = await service.queue.ingest(events) if events else []
    await service.ledger.delete_quarantine(quarantine_id)
    new = [r.event_id for r in results if not r.duplicate]
    if any(not (r.duplicate or r.parked) for r in results):
        service.wake_worker()
    return Reingested(
        accepted=len(new),
        duplicates=len(results) - len(new),
        event_ids=[r.event_id for r in results],
        ignored=not events,
    )
