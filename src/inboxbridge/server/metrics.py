"""``GET /metrics``: Prometheus text format. The process's counters and histograms (``inboxbridge.metrics``),
plus the queue read from the store at scrape time: events by tenant and state, queue depth, oldest pending age,
and cache hit ratios.

The labels name every tenant (an installed site's is its Wix instance id) and source, so the route takes the
admin credentials like the admin API. A scrape costs two store reads whatever the number of tenants.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from inboxbridge.metrics import CACHE_LOOKUPS
from inboxbridge.server.auth import require_admin
from inboxbridge.server.context import ServerContext
from inboxbridge.store import EventStatus, StoreUnavailable

__all__ = ["router"]

router = APIRouter()


class _Snapshot(Collector):
    """Gauges computed once per scrape."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._metrics


async def _queue_metrics(service: ServerContext) -> list[Metric]:
    events = GaugeMetricFamily("inboxbridge_events", "Stored events by tenant and state.", labels=["tenant", "state"])
    depth = GaugeMetricFamily(
        "inboxbridge_queue_depth", "Events waiting for delivery (pending or in flight), by tenant.", labels=["tenant"]
    )
    age = GaugeMetricFamily(
        "inboxbridge_oldest_pending_age_seconds",
        "Seconds since the oldest undelivered event was received, by tenant (0 when none).",
        labels=["tenant"],
    )
    up = GaugeMetricFamily("inboxbridge_store_up", "1 when the store answered this scrape.")
    try:
        names = sorted({row.id for row in await service.ledger.list_tenants()})
        by_tenant = await service.ledger.counts_by_tenant()
        ages = await service.ledger.oldest_pending_ages()
        zeros = {state.value: 0 for state in EventStatus}
        for name in names:
            counts = by_tenant.get(name, zeros)
            for state, count in counts.items():
                events.add_metric([name, state], count)
            depth.add_metric([name], counts["pending"] + counts["in_flight"])
            age.add_metric([name], ages.get(name, 0.0))
    except StoreUnavailable:
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    return [events, depth, age, up, _cache_ratio()]


def _cache_ratio() -> Metric:
    ratio = GaugeMetricFamily(
        "inboxbridge_cache_hit_ratio",
        "Share of id cache lookups answered from the cache since the process started, by cache.",
        labels=["cache"],
    )
    tally: dict[str, dict[str, float]] = {}
    for family in CACHE_LOOKUPS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                tally.setdefault(sample.labels["cache"], {})[sample.labels["result"]] = sample.value
    for cache, results in sorted(tally.items()):
        total = sum(results.values())
        if total:
            ratio.add_metric([cache], results.get("hit", 0.0) / total)
    return ratio


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response, dependencies=[Depends(require_admin)]
)
async def metrics(request: Request) -> Response:
    """Counters and histograms of this process, and the queue as the store sees it now."""
    service: ServerContext = request.app.state.service
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Snapshot(await _queue_metrics(service)))
    body = generate_latest(REGISTRY) + generate_latest(snapshot)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
