"""`/metrics` after a known run: every count matches what was sent and what Wix was asked; without the admin
credentials it shows nothing, not even the tenants' names."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from inboxbridge.sandbox import SandboxServer

from .harness import Inbox, ServiceProcess, chat, free_port, site_id, stamp, start_sandbox, wait_until, write_config


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    sandbox: SandboxServer = start_sandbox(["shop"])
    port = free_port()
    config = write_config(
        tmp_path / "inboxbridge.toml", sandbox.url, {"shop": {}}, port=port, database=tmp_path / "ib.db"
    )
    with config.open("a") as toml:
        toml.write(f'\n[admin]\nusername = "ops"\npassword = "{ADMIN_PASSWORD}"\ntoken = "{SCRAPE_TOKEN}"\n')
    proc = ServiceProcess(config, port, tmp_path / "service.log").start()
    proc.sandbox_url = sandbox.url  # type: ignore[attr-defined]
    yield proc
    proc.stop()
    sandbox.stop()


ADMIN_PASSWORD = "metrics-admin-password"
SCRAPE_TOKEN = "metrics-scrape-token"


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx2.get(f"{url}/metrics", headers={"authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert answer.status_code == 200, answer.text
    text = answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_webhooks_deliveries_wix_calls_and_cache_hits(service: ServiceProcess) -> None:
    for i, (event_id, email) in enumerate(
        [("a1", "ana@example.com"), ("a2", "ana@example.com"), ("b1", "bo@example.com")]
    ):
        assert service.post("shop", "chat", chat(event_id, email, f"hi {i}", at=stamp(i))).status_code == 202
    assert service.post("shop", "chat", chat("a1", "ana@example.com", "hi 0", at=stamp(0))).status_code == 200
    assert service.post("shop", "chat", chat("x", "x@example.com", "forged"), signature="00").status_code == 401
    assert (
        service.post("shop", "chat", b'{"id": "q", "at": "2026-11-26T10:00:00Z", "text": "no one"}').status_code == 400
    )
    assert service.post("nobody", "chat", chat("n", "n@example.com", "lost")).status_code == 404
    box = Inbox(service.sandbox_url, site_id(0))  # type: ignore[attr-defined]
    wait_until(lambda: len(box.all_messages()) == 3, what="three messages in the Inbox")
    wait_until(
        lambda: value(scrape(service.url), "inboxbridge_deliveries_total", tenant="shop", outcome="delivered") == 3
    )

    m = scrape(service.url)
    webhooks = "inboxbridge_webhooks_received_total"
    assert value(m, webhooks, tenant="shop", source="chat", outcome="accepted") == 3
    assert value(m, webhooks, tenant="shop", source="chat", outcome="duplicate") == 1
    assert value(m, webhooks, tenant="shop", source="chat", outcome="unauthorized") == 1
    assert value(m, webhooks, tenant="shop", source="chat", outcome="invalid") == 1
    assert value(m, webhooks, tenant="", source="", outcome="not_found") == 1
    assert value(m, "inboxbridge_ingest_seconds_count", tenant="shop") == 6
    assert value(m, "inboxbridge_retries_total", tenant="shop") == 0
    assert value(m, "inboxbridge_dead_letters_total", tenant="shop") == 0

    # Every exchange the sandbox logged, counted once under its endpoint and status.
    logged: dict[tuple[str, str, str], int] = {}
    for request in box.requests():
        key = (request["method"], request["path"], str(request["status"]))
        logged[key] = logged.get(key, 0) + 1
    counted = {
        (dict(labels)["method"], dict(labels)["endpoint"], dict(labels)["status"]): int(v)
        for (name, labels), v in m.items()
        if name == "inboxbridge_wix_requests_total"
    }
    assert counted == logged
    assert logged[("POST", "/inbox/v2/messages", "200")] == 3
    assert value(m, "inboxbridge_wix_request_seconds_count", method="POST", endpoint="/inbox/v2/messages") == 3
    # Ana's second message found her contact and conversation in the cache; the first two customers did not.
    lookups = "inboxbridge_cache_lookups_total"
    assert value(m, lookups, cache="contacts", result="hit") == 1
    assert value(m, lookups, cache="contacts", result="miss") == 2
    assert value(m, "inboxbridge_cache_hit_ratio", cache="conversations") == pytest.approx(1 / 3)

    assert value(m, "inboxbridge_events", tenant="shop", state="delivered") == 3
    assert value(m, "inboxbridge_queue_depth", tenant="shop") == 0
    assert value(m, "inboxbridge_oldest_pending_age_seconds", tenant="shop") == 0
    assert value(m, "inboxbridge_store_up") == 1


def test_metrics_need_the_admin_credentials(service: ServiceProcess) -> None:
    assert service.post("shop", "chat", chat("m-1", "anon@example.com", "hello")).status_code == 202
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic b3BzOndyb25n"}):
        answer = httpx2.get(f"{service.url}/metrics", headers=headers)
        assert answer.status_code == 401, headers
        assert "shop" not in answer.text and "inboxbridge_" not in answer.text
    basic = httpx2.get(f"{service.url}/metrics", auth=("ops", ADMIN_PASSWORD))
    assert basic.status_code == 200 and 'tenant="shop"' in basic.text
