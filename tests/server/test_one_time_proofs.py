"""Mailgun signs only a timestamp and a token, never the mail: a captured request's signature could be replayed
with another sender inside its freshness window. Each token is accepted once per source; a replay is refused
(401) and stores nothing, while a request that could not be kept (store unavailable) leaves its token free for the
provider's retry. Signatures checked with Mailgun's own SDK."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
import pytest_asyncio
from mailgun.security import SecurityGuard

from inboxbridge.config import load_settings
from inboxbridge.sandbox import SandboxServer
from inboxbridge.server import create_app
from inboxbridge.service import Service
from inboxbridge.store import StoreUnavailable

from .conftest import SITES

KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
FORWARD = Path(__file__).parents[1] / "providers" / "fixtures" / "email" / "mailgun_docs_forward.json"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def signed(sender: str, *, token: str, stamp: str) -> bytes:
    """Mailgun's documented forward, from ``sender``, signed as Mailgun signs it."""
    fields: dict[str, Any] = json.loads(FORWARD.read_text())
    fields = {k: v for k, v in fields.items() if isinstance(v, str)}
    fields.update({"sender": sender, "from": f"Someone <{sender}>", "Message-Id": f"<{uuid.uuid4().hex}@x.example>"})
    signature = hmac.new(KEY.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    assert SecurityGuard.verify_webhook(KEY, token, stamp, signature, max_age_seconds=0)
    fields.update({"timestamp": stamp, "token": token, "signature": signature})
    return urlencode(fields).encode()


@pytest_asyncio.fixture
async def service(sandbox: SandboxServer, tmp_path: Path) -> AsyncIterator[Service]:
    settings = load_settings(
        None,
        database_url=f"sqlite:///{tmp_path / 'ib.db'}",
        wix={"base_url": sandbox.url, "requests_per_minute": 1_000_000},
        tenants={
            name: {
                "wix": {"api_key": f"key-{name}", "site_id": site},
                "sources": {"mail": {"type": "mailgun", "signing_key": KEY}},
            }
            for name, site in SITES.items()
        },
    )
    started = Service(settings, run_worker=False)
    await started.start()
    yield started
    await started.stop()


async def post(service: Service, tenant: str, body: bytes) -> httpx2.Response:
    transport = httpx2.ASGITransport(app=create_app(service))
    async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as client:
        return await client.post(f"/hooks/{tenant}/mail", content=body, headers=FORM)


async def test_a_replayed_token_is_refused_and_stores_nothing(service: Service) -> None:
    token, stamp = uuid.uuid4().hex, str(int(time.time()))
    genuine = await post(service, "shop", signed("ana@example.com", token=token, stamp=stamp))
    assert genuine.status_code == 202, genuine.text
    counts = await service.store.ledger.counts("shop")

    forged = await post(service, "shop", signed("mallory@example.com", token=token, stamp=stamp))

    assert forged.status_code == 401
    assert "replayed" in forged.json()["error"]
    assert await service.store.ledger.counts("shop") == counts
    # Tokens are per source: the same token at another tenant's URL is that source's own first sight of it.
    elsewhere = await post(service, "cafe", signed("ana@example.com", token=token, stamp=stamp))
    assert elsewhere.status_code == 202


async def test_a_request_the_store_could_not_keep_leaves_its_token_for_the_retry(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = signed("ana@example.com", token=uuid.uuid4().hex, stamp=str(int(time.time())))
    ingest = service.store.queue.ingest

    async def unavailable(events: object) -> None:
        raise StoreUnavailable("disk full")

    monkeypatch.setattr(service.store.queue, "ingest", unavailable)
    assert (await post(service, "shop", body)).status_code == 503
    monkeypatch.setattr(service.store.queue, "ingest", ingest)
    assert (await post(service, "shop", body)).status_code == 202
