"""``POST /hooks/{tenant}/{source}``: verify, parse, and durably store a provider's webhook.

The answer is 2xx only once the events are committed, so a provider that got no 2xx retries and nothing is lost:
401 forged or missing signature (nothing stored), 400 unreadable (the raw request quarantined), 404 unknown
tenant or source, 413 too large, 503 the store cannot commit right now.

Webhooks are nearly all of the service's traffic, and FastAPI's route handling (its middleware layers, dependencies,
request and response objects) costs about a third of a small webhook's CPU time, so :data:`route`, the app's first
route, has a plain ASGI app for endpoint: :func:`serve_webhook` answers on the bare connection, inside the app's
middleware like every other route (see :mod:`inboxbridge.server.app`). A FastAPI route in :data:`router` declares
the operation in the OpenAPI document; the FastAPI app is mounted after :data:`route`, so it never serves.

Most sources can tell a forged request only once its body is read (Mailgun's signature is a field of its form),
so a body is read before anyone is known to have sent it: one larger than :data:`OFF_LOOP_BODY_BYTES` is verified
and parsed in a worker thread, so that reading it never holds up the other requests the event loop is serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter
from starlette.datastructures import URL, QueryParams
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from inboxbridge.events import InboundEvent
from inboxbridge.metrics import observe_webhook, webhook_outcome
from inboxbridge.providers import Source, SourceError, WebhookRequest
from inboxbridge.providers.answers import Reply, reply_for
from inboxbridge.providers.base import OneTimeProof
from inboxbridge.server.body import BodyTooLarge, receive_body
from inboxbridge.server.context import ServerContext
from inboxbridge.store import StoreUnavailable

__all__ = ["OFF_LOOP_BODY_BYTES", "WEBHOOK_PATH", "route", "router", "serve_webhook"]

log = structlog.get_logger("inboxbridge.webhooks")
WEBHOOK_PATH = "/hooks/{tenant}/{source}"
MASKED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
RETRY_AFTER_SECONDS = "5"
OFF_LOOP_BODY_BYTES = 64 * 1024
"""A body larger than this is verified and parsed in a worker thread; a smaller one on the event loop, where it
costs less than the hop to a thread would."""
UNVERIFIABLE = "the request could not be verified: checking its signature failed"
REPLAYED = "this request's signed token was accepted before: a replayed request (nothing stored)"
PROOF_SCOPE = "webhook-proof"
"""The seen-tokens scope of the one-time proofs of webhooks."""

Answer = tuple[int, dict[str, Any]]
"""A status and the JSON object answered with it."""

_RETRY_AFTER = (b"retry-after", RETRY_AFTER_SECONDS.encode())
# Threads of their own: large bodies queued here never hold up the default executor's other work (the Wix
# client's DNS lookups). Few, since reading a body is mostly Python and holds the GIL.
_READERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-reader")


class _WebhookEndpoint:
    """The webhook route's ASGI app: the service from the app, the tenant and source from the matched path."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service: ServerContext = scope["app"].state.service
        params = scope["path_params"]
        await serve_webhook(service, scope, receive, send, params["tenant"], params["source"])


# Starlette treats an endpoint that is not a function as an ASGI app, so no request object is built for it.
route = Route(WEBHOOK_PATH, _WebhookEndpoint(), methods=["POST"], name="serve_webhook", include_in_schema=False)
router = APIRouter()


# Declares the operation in the OpenAPI document (its docstring is the description): ``route`` comes first in the
# app and takes every POST to the path, so this one never serves.
@router.post(
    WEBHOOK_PATH,
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
async def receive_webhook(tenant: str, source: str) -> None:
    """Verify, parse and store one webhook; answered only after its events are committed."""


async def serve_webhook(
    service: ServerContext, scope: Scope, receive: Receive, send: Send, tenant: str, source: str
) -> None:
    """Answer one webhook on the bare ASGI connection: the JSON answer (or the provider's own form of it, see
    :mod:`inboxbridge.providers.answers`), with ``Retry-After`` on a 503.

    A client that goes away before its whole body came gets no answer (nobody is left to read it). An unexpected
    error in checking a request's signature refuses it (401): nobody is known to have sent it yet. Any other
    unexpected error goes on up to the app's error middleware, which answers a plain 500 and hands the error to the
    server to log.
    """
    reply = await _answer(service, tenant, source, scope, receive)
    if reply is None:
        return
    headers = [(b"content-length", str(len(reply.body)).encode()), (b"content-type", reply.content_type.encode())]
    if reply.status == 503:
        headers.insert(0, _RETRY_AFTER)
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def _answer(service: ServerContext, tenant: str, source: str, scope: Scope, receive: Receive) -> Reply | None:
    """Handle the webhook, then log it in one line and count it; the reply, in the form the source's provider
    expects, or ``None`` when the client went away before its body came."""
    started = time.perf_counter()
    fault = None
    try:
        status, answer = await _handle(service, tenant, source, scope, receive)
    except ClientDisconnect:
        ms = round((time.perf_counter() - started) * 1000, 2)
        log.info("webhook client went away mid-body", tenant=tenant, source=source, ms=ms)
        return None
    except _Refused as refused:
        status, answer = _error(refused.status, refused.reason)
        fault = refused.fault
    seconds = time.perf_counter() - started
    fields = {
        "tenant": tenant,
        "source": source,
        "status": status,
        "event_ids": answer.get("eventIds"),
        "quarantine_id": answer.get("quarantineId"),
        "ms": round(seconds * 1000, 2),
    }
    if fault is None:
        log.info("webhook", **fields)
    else:
        # What broke, in the same one line: a request that breaks a reader may come by the thousand.
        log.warning("webhook", fault=fault, **fields)
    # Label values only for configured names: a scan of random URLs must not grow the metrics without bound.
    known = service.tenants.get(tenant)
    tenant_label = tenant if known is not None else ""
    source_label = source if known is not None and source in known.sources else ""
    outcome = webhook_outcome(status, ignored=bool(answer.get("ignored")), skipped="skipped" in answer)
    observe_webhook(tenant_label, source_label, outcome, seconds)
    return reply_for(known.sources.get(source) if known is not None else None, status, answer)


def _error(status: int, reason: str, **extra: object) -> Answer:
    return status, {"error": reason, **extra}


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The first Content-Length header, as Starlette's ``Request.headers`` reads it."""
    for name, value in headers:
        if name == b"content-length":
            return value.decode("latin-1")
    return None


def _public_url(url: URL, public_base_url: str | None) -> str:
    """The URL the provider called (and signed), even when a proxy forwarded the request to us."""
    if not public_base_url:
        return str(url)
    query = url.query
    return public_base_url.rstrip("/") + url.path + (f"?{query}" if query else "")


async def _handle(service: ServerContext, tenant_name: str, source_name: str, scope: Scope, receive: Receive) -> Answer:
    tenant = await service.tenants.lookup(tenant_name)
    if tenant is None:
        return _error(404, f"unknown tenant {tenant_name!r}")
    source = tenant.sources.get(source_name)
    if source is None:
        return _error(404, f"tenant {tenant_name!r} has no source {source_name!r}")
    raw_headers = scope["headers"]
    try:
        body = await receive_body(receive, _content_length(raw_headers), service.settings.max_body_bytes)
    except BodyTooLarge as exc:
        return _error(413, str(exc))
    url = URL(scope=scope)
    query_string: bytes = scope["query_string"]
    webhook = WebhookRequest(
        method=scope["method"],
        url=_public_url(url, service.settings.public_base_url),
        path=url.path,
        query=dict(QueryParams(query_string)) if query_string else {},
        headers={name.decode("latin-1"): value.decode("latin-1") for name, value in raw_headers},
        body=body,
        received_at=datetime.now(UTC),
    )
    read = await _read(source, webhook, tenant_name)
    proof = None
    if read.proof is not None:
        proof = _proof_key(tenant_name, source_name, read.proof)
        try:
            fresh = await service.ledger.remember_token(PROOF_SCOPE, proof, read.proof.valid_until)
        except StoreUnavailable as exc:
            log.error("checking a one-time proof failed", tenant=tenant_name, source=source_name, error=str(exc))
            return _error(503, "the event store is unavailable; retry later")
        if not fresh:
            return _error(401, REPLAYED)
    answer = await _store(service, tenant_name, source_name, webhook, read)
    if answer[0] == 503 and proof is not None:
        # Nothing was kept: the provider's retry, with the same proof, must be let in.
        with contextlib.suppress(StoreUnavailable):
            await service.ledger.forget_token(PROOF_SCOPE, proof)
    return answer


async def _store(
    service: ServerContext, tenant_name: str, source_name: str, webhook: WebhookRequest, read: _Read
) -> Answer:
    """Keep what a verified request carries: its events, or the request itself when it cannot be read."""
    if read.error is not None:
        return await _quarantine(service, tenant_name, source_name, webhook, read.error)
    events = read.events
    if not events:
        # Event types the source does not sync: a 2xx tells the provider to stop retrying them.
        log.info("webhook ignored", tenant=tenant_name, source=source_name)
        return 200, {"accepted": 0, "duplicates": 0, "eventIds": [], "ignored": True}
    try:
        # A stopped tenant's events (the site removed the app) are stored parked, until it is installed again.
        results = await service.queue.ingest(events)
    except StoreUnavailable as exc:
        log.error("ingest failed", tenant=tenant_name, source=source_name, error=str(exc))
        return _error(503, "the event store is unavailable; retry later")
    accepted = sum(not r.duplicate for r in results)
    if any(not (r.duplicate or r.parked) for r in results):
        service.wake_worker()
    answer = {"accepted": accepted, "duplicates": len(results) - accepted, "eventIds": [r.event_id for r in results]}
    return (202 if accepted else 200), answer


def _proof_key(tenant: str, source: str, proof: OneTimeProof) -> str:
    """How a request's one-time proof is remembered: per tenant and source, hashed to a bounded length."""
    return hashlib.sha256(f"{tenant}\x1f{source}\x1f{proof.value}".encode()).hexdigest()


@dataclass(frozen=True)
class _Read:
    """A verified request: its one-time proof, if its source has one, and its events or why they cannot be read."""

    proof: OneTimeProof | None
    events: list[InboundEvent]
    error: SourceError | None = None


class _Refused(Exception):
    """The request is not shown to come from the provider: answered ``status`` with ``reason``, nothing stored.

    ``fault`` names the unexpected error that checking its signature raised, if that is why; it is logged.
    """

    def __init__(self, status: int, reason: str, fault: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.fault = fault


def _fault(error: Exception) -> str:
    """An unexpected error in one line: its type, message, and the module and line where it was raised."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = f" at {frame.tb_frame.f_globals.get('__name__')}:{frame.tb_lineno}" if frame is not None else ""
    return f"{type(error).__name__}: {error}{where}"


def _verify_and_parse(source: Source, webhook: WebhookRequest, tenant: str) -> _Read:
    """The request once its signature is checked (:class:`_Refused` when it is not the provider's): its one-time
    proof, and its events or the source's :class:`SourceError` when its body cannot be read."""
    proof: OneTimeProof | None = None
    try:
        source.verify(webhook)
        one_time_proof: Callable[[WebhookRequest], OneTimeProof] | None = getattr(source, "one_time_proof", None)
        if one_time_proof is not None:
            proof = one_time_proof(webhook)
    except SourceError as exc:
        raise _Refused(exc.status, exc.reason) from None
    except Exception as exc:
        raise _Refused(401, UNVERIFIABLE, _fault(exc)) from None
    try:
        return _Read(proof, source.parse(webhook, tenant=tenant))
    except SourceError as exc:
        return _Read(proof, [], exc)


async def _read(source: Source, webhook: WebhookRequest, tenant: str) -> _Read:
    """:func:`_verify_and_parse`, in a worker thread when the body is larger than :data:`OFF_LOOP_BODY_BYTES`."""
    if len(webhook.body) <= OFF_LOOP_BODY_BYTES:
        return _verify_and_parse(source, webhook, tenant)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_READERS, _verify_and_parse, source, webhook, tenant)


async def _quarantine(
    service: ServerContext, tenant: str, source: str, webhook: WebhookRequest, error: SourceError
) -> Answer:
    headers = {k: ("***" if k in MASKED_HEADERS else v) for k, v in webhook.headers.items()}
    # A source's 2xx refusal is a valid request with nothing to post (e.g. a payment that names no customer we
    # can reach): answered as a success so the provider stops retrying, and kept, with why, for the dashboard.
    skipped = 200 <= error.status < 300
    try:
        quarantine_id = await service.ledger.quarantine(
            tenant=tenant,
            source=source,
            kind="skipped" if skipped else "unreadable",
            reason=error.reason,
            method=webhook.method,
            url=webhook.url,
            headers=headers,
            body=webhook.body,
        )
    except StoreUnavailable as exc:
        log.error("quarantine failed", tenant=tenant, source=source, error=str(exc))
        return _error(503, "the event store is unavailable; retry later")
    if skipped:
        log.info("webhook skipped", tenant=tenant, source=source, reason=error.reason)
        return error.status, {"accepted": 0, "skipped": error.reason, "quarantineId": quarantine_id}
    return _error(error.status, error.reason, quarantineId=quarantine_id)
