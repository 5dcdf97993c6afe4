"""A valid request a source has nothing to post for (it raises a 2xx SourceError, e.g. Stripe's payment whose
customer cannot be reached without an API key) is answered 200, so the provider stops retrying, and kept as a
"skipped" row with its reason: once per distinct body, its repeats counted."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
import pytest_asyncio

from inboxbridge.providers import SourceError, WebhookRequest
from inboxbridge.sandbox import SandboxServer
from inboxbridge.server import create_app
from inboxbridge.service import Service

from .conftest import SITES, chat_body
from .live import CHAT_SECRET, TOKEN, settings_for

REASON = "the payment names no email and no API key is configured to look its customer up"


@pytest_asyncio.fixture
async def client(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx2.AsyncClient]:
    service = Service(settings_for(sandbox.url, tmp_path / "ib.db", SITES), run_worker=False)
    await service.start()
    source = service.tenants.get("shop").sources["chat"]  # type: ignore[union-attr]

    def skip(request: WebhookRequest, *, tenant: str) -> list[object]:
        raise SourceError(200, REASON)

    monkeypatch.setattr(source, "parse", skip)
    transport = httpx2.ASGITransport(app=create_app(service))
    async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as http:
        yield http
    await service.stop()


async def test_a_skipped_request_is_answered_200_and_kept_with_its_reason(client: httpx2.AsyncClient) -> None:
    body = chat_body("s-1", "a@example.com", "hi")
    signed = {"x-signature": hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()}
    answers = [await client.post("/hooks/shop/chat", content=body, headers=signed) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    first = answers[0].json()
    assert (first["accepted"], first["skipped"]) == (0, REASON)
    assert {a.json()["quarantineId"] for a in answers} == {first["quarantineId"]}
    admin = {"authorization": f"Bearer {TOKEN}"}
    kept = (await client.get(f"/admin/api/quarantine/{first['quarantineId']}", headers=admin)).json()
    assert (kept["kind"], kept["reason"], kept["hits"]) == ("skipped", REASON, 3)
    metrics = (await client.get("/metrics", headers=admin)).text
    assert 'inboxbridge_webhooks_received_total{outcome="skipped",source="chat",tenant="shop"} 3.0' in metrics
