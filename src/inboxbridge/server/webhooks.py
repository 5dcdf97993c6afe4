"""``POST /hooks/{tenant}/{source}``: verify, parse, and durably store a provider's webhook.

The answer is 2xx only once the events are committed, so a provider that got no 2xx retries and nothing is lost:
401 forged or missing signature (nothing stored), 400 unreadable (the raw request quarantined), 404 unknown
tenant or source, 413 too large, 503 the store cannot commit right now.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from inboxbridge.metrics import INGEST_SECONDS, WEBHOOKS, webhook_outcome
from inboxbridge.server.body import BodyTooLarge, read_body
from inboxbridge.service import Service
from inboxbridge.sources import SourceError, WebhookRequest
from inboxbridge.store import StoreUnavailable

__all__ = ["router"]

log = structlog.get_logger("inboxbridge.webhooks")
router = APIRouter()
MASKED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
RETRY_AFTER_SECONDS = "5"


def _error(status: int, reason: str, **extra: object) -> JSONResponse:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return JSONResponse({"error": reason, **extra}, status_code=status, headers=headers)


def _public_url(request: Request, public_base_url: str | None) -> str:
    """The URL the provider called (and signed), even when a proxy forwarded the request to us."""
    if not public_base_url:
        return str(request.url)
    query = request.url.query
    return public_base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post(
    "/hooks/{tenant}/{source}",
    status_code=202,
    summary="Receive a provider's webhook",
    responses={
        200: {"description": "Already received: every event in it was stored before"},
        202: {"description": "Accepted: the events are stored and will be delivered"},
        400: {"description": "Unreadable request; kept in quarantine"},
        401: {"description": "Missing or wrong signature; nothing stored"},
        404: {"description": "Unknown tenant or source"},
        413: {"description": "Body over the size limit"},
        503: {"description": "Store unavailable; retry later"},
    },
)
async def receive_webhook(tenant: str, source: str, request: Request) -> JSONResponse:
    """Verify, parse and store one webhook; answered only after its events are committed."""
    service: Service = request.app.state.service
    started = time.perf_counter()
    response = await _handle(service, tenant, source, request)
    seconds = time.perf_counter() - started
    answer = orjson.loads(response.body)
    log.info(
        "webhook",
        tenant=tenant,
        source=source,
        status=response.status_code,
        event_ids=answer.get("eventIds"),
        quarantine_id=answer.get("quarantineId"),
        ms=round(seconds * 1000, 2),
    )
    # Label values only for configured names: a scan of random URLs must not grow the metrics without bound.
    known = service.tenants.get(tenant)
    tenant_label = tenant if known is not None else ""
    source_label = source if known is not None and source in known.sources else ""
    outcome = webhook_outcome(response.status_code, ignored=bool(answer.get("ignored")))
    WEBHOOKS.labels(tenant_label, source_label, outcome).inc()
    INGEST_SECONDS.labels(tenant_label).observe(seconds)
    return response


async def _handle(service: Service, tenant_name: str, source_name: str, request: Request) -> JSONResponse:
    tenant = await service.tenants.lookup(tenant_name)
    if tenant is None:
        return _error(404, f"unknown tenant {tenant_name!r}")
    source = tenant.sources.get(source_name)
    if source is None:
        return _error(404, f"tenant {tenant_name!r} has no source {source_name!r}")
    try:
        body = await read_body(request, service.settings.max_body_bytes)
    except BodyTooLarge as exc:
        return _error(413, str(exc))
    webhook = WebhookRequest(
        method=request.method,
        url=_public_url(request, service.settings.public_base_url),
        path=request.url.path,
        query=dict(request.query_params),
        headers=dict(request.headers),
        body=body,
        received_at=datetime.now(UTC),
    )
    try:
        source.verify(webhook)
    except SourceError as exc:
        return _error(exc.status, exc.reason)
    try:
        events = source.parse(webhook, tenant=tenant_name)
    except SourceError as exc:
        return await _quarantine(service, tenant_name, source_name, webhook, exc)
    if not events:
        # Event types the source does not sync: a 2xx tells the provider to stop retrying them.
        log.info("webhook ignored", tenant=tenant_name, source=source_name)
        return JSONResponse({"accepted": 0, "duplicates": 0, "eventIds": [], "ignored": True}, status_code=200)
    try:
        results = await service.store.ingest(events)
    except StoreUnavailable as exc:
        log.error("ingest failed", tenant=tenant_name, source=source_name, error=str(exc))
        return _error(503, "the event store is unavailable; retry later")
    new = [r.event_id for r in results if not r.duplicate]
    if new and service.tenants.is_stopped(tenant_name):
        # The site removed the app: keep what arrives, set aside until the app is installed again.
        await _park(service, tenant_name)
    elif new:
        service.wake_worker()
    body_out = {
        "accepted": len(new),
        "duplicates": len(results) - len(new),
        "eventIds": [r.event_id for r in results],
    }
    return JSONResponse(body_out, status_code=202 if new else 200)


async def _park(service: Service, tenant: str) -> None:
    try:
        await service.store.park_tenant(tenant)
    except StoreUnavailable as exc:
        # Committed all the same; a stopped tenant's pending events are not claimed either.
        log.error("parking failed", tenant=tenant, error=str(exc))


async def _quarantine(
    service: Service, tenant: str, source: str, webhook: WebhookRequest, error: SourceError
) -> JSONResponse:
    headers = {k: ("***" if k in MASKED_HEADERS else v) for k, v in webhook.headers.items()}
    try:
        quarantine_id = await service.store.quarantine(
            tenant=tenant,
            source=source,
            reason=error.reason,
            method=webhook.method,
            url=webhook.url,
            headers=headers,
            body=webhook.body,
        )
    except StoreUnavailable as exc:
        log.error("quarantine failed", tenant=tenant, source=source, error=str(exc))
        return _error(503, "the event store is unavailable; retry later")
    return _error(error.status, error.reason, quarantineId=quarantine_id)
