"""The process's Prometheus metrics: what the server, the worker and the Wix client count as they run.

Counters and histograms live in prometheus-client's default registry (with the process and Python collectors);
queue depths are read from the store when ``/metrics`` is scraped (see ``inboxbridge.server.metrics``).
Label values are bounded: tenant and source names come from the configuration or the store, never from a
request path that matched nothing.
"""

from __future__ import annotations

import functools
import re

from prometheus_client import Counter, Histogram, disable_created_metrics

__all__ = [
    "CACHE_LOOKUPS",
    "DEAD_LETTERS",
    "DELIVERIES",
    "INGEST_SECONDS",
    "RETRIES",
    "WEBHOOKS",
    "WIX_REQUESTS",
    "WIX_SECONDS",
    "endpoint_of",
    "observe_cache_lookup",
    "observe_delivery",
    "observe_webhook",
    "observe_wix_call",
    "webhook_outcome",
]

# Each series' creation time doubles the output and says nothing an operator needs.
disable_created_metrics()  # type: ignore[no-untyped-call]

WEBHOOKS = Counter(
    "inboxbridge_webhooks_received",
    "Webhooks received, by tenant, source and outcome (accepted, duplicate, ignored, invalid, unauthorized, "
    "not_found, too_large, unavailable). Unknown tenants and sources are counted with empty labels.",
    ["tenant", "source", "outcome"],
)
INGEST_SECONDS = Histogram(
    "inboxbridge_ingest_seconds",
    "Time from a webhook's arrival to its answer (verify, parse, commit), by tenant.",
    ["tenant"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
DELIVERIES = Counter(
    "inboxbridge_deliveries",
    "Delivery tries by tenant and outcome (delivered, already_delivered, retry, dead).",
    ["tenant", "outcome"],
)
RETRIES = Counter("inboxbridge_retries", "Deliveries scheduled for a later try, by tenant.", ["tenant"])
DEAD_LETTERS = Counter("inboxbridge_dead_letters", "Events dead-lettered, by tenant.", ["tenant"])
WIX_REQUESTS = Counter(
    "inboxbridge_wix_requests",
    "HTTP exchanges with Wix by method, endpoint (ids replaced by {id}) and status (0: no answer).",
    ["method", "endpoint", "status"],
)
WIX_SECONDS = Histogram(
    "inboxbridge_wix_request_seconds",
    "Duration of HTTP exchanges with Wix, by method and endpoint.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
CACHE_LOOKUPS = Counter(
    "inboxbridge_cache_lookups",
    "Contact and conversation id cache lookups by cache (contacts, conversations) and result (hit, miss).",
    ["cache", "result"],
)
# Looked up once: ``labels()`` on every lookup cost more than the lookup itself.
_CACHE_COUNTS = {
    (cache, found): CACHE_LOOKUPS.labels(cache, "hit" if found else "miss")
    for cache in ("contacts", "conversations")
    for found in (True, False)
}

_WEBHOOK_OUTCOMES = {
    202: "accepted",
    200: "duplicate",
    400: "invalid",
    401: "unauthorized",
    404: "not_found",
    413: "too_large",
    503: "unavailable",
}
# Path segments that are words of Wix's API (contacts, v4, query...); anything else is an id.
_WORD = re.compile(r"^(v\d+|[a-z][a-z_-]*)$")


def webhook_outcome(status: int, *, ignored: bool = False, skipped: bool = False) -> str:
    """The ``outcome`` label of a webhook answered with ``status``."""
    if skipped:
        return "skipped"
    if ignored:
        return "ignored"
    return _WEBHOOK_OUTCOMES.get(status, str(status))


@functools.lru_cache(maxsize=1024)
def endpoint_of(path: str) -> str:
    """``path`` with its id segments replaced by ``{id}``, so label values stay few."""
    return "/".join(part if not part or _WORD.match(part) else "{id}" for part in path.split("/"))


# Metric children looked up once per label set (``labels()`` costs more than the increment); every label set
# here is bounded: methods and endpoints of Wix's API, statuses, configured or installed tenants and sources.
@functools.cache
def _wix_call(method: str, endpoint: str, status: int) -> tuple[Counter, Histogram]:
    return WIX_REQUESTS.labels(method, endpoint, str(status)), WIX_SECONDS.labels(method, endpoint)


@functools.cache
def _deliveries(tenant: str, outcome: str) -> Counter:
    return DELIVERIES.labels(tenant, outcome)


@functools.cache
def _webhooks(tenant: str, source: str, outcome: str) -> Counter:
    return WEBHOOKS.labels(tenant, source, outcome)


@functools.cache
def _ingest_seconds(tenant: str) -> Histogram:
    return INGEST_SECONDS.labels(tenant)


def observe_webhook(tenant: str, source: str, outcome: str, seconds: float) -> None:
    """Count one webhook's outcome and time its answer; ``tenant`` and ``source`` empty when not configured."""
    _webhooks(tenant, source, outcome).inc()
    _ingest_seconds(tenant).observe(seconds)


def observe_wix_call(method: str, path: str, status: int, seconds: float) -> None:
    """The :class:`~inboxbridge.wix.client.WixClient` observer: count and time one exchange with Wix."""
    requests, duration = _wix_call(method, endpoint_of(path), status)
    requests.inc()
    duration.observe(seconds)


def observe_delivery(tenant: str, outcome: str) -> None:
    """Count one delivery try's outcome (delivered, already_delivered, retry, dead)."""
    _deliveries(tenant, outcome).inc()
    if outcome == "retry":
        RETRIES.labels(tenant).inc()
    elif outcome == "dead":
        DEAD_LETTERS.labels(tenant).inc()


def observe_cache_lookup(cache: str, found: bool) -> None:
    """Count one id cache lookup (``contacts`` or ``conversations``) as a hit or a miss."""
    _CACHE_COUNTS[cache, found].inc()
