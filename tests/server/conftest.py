"""Fixtures: a sandbox with two sites and the service in this process, serving two tenants into them."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import orjson
import pytest

from inboxbridge.sandbox import SandboxConfig, SandboxServer, SiteConfig

from .live import CHAT_SECRET, LiveService, settings_for

SITES = {"shop": "00000000-0000-4000-8000-00000000c001", "cafe": "00000000-0000-4000-8000-00000000c002"}

Post = Callable[..., httpx2.Response]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(
        sites=[SiteConfig(site_id=site, name=name, api_keys=[f"key-{name}"]) for name, site in SITES.items()],
        requests_per_minute=1_000_000,
    )
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def live(sandbox: SandboxServer, tmp_path: Path) -> Iterator[LiveService]:
    with LiveService(settings_for(sandbox.url, tmp_path / "ib.db", SITES)) as service:
        yield service


def chat_body(event_id: str, email: str | None, text: str, *, phone: str | None = None) -> bytes:
    customer = {k: v for k, v in (("email", email), ("phone", phone), ("name", "Test Person")) if v}
    return orjson.dumps({"id": event_id, "at": "2026-11-26T10:00:00Z", "customer": customer, "text": text})


@pytest.fixture
def post(live: LiveService) -> Post:
    def send(tenant: str, body: bytes, *, source: str = "chat") -> httpx2.Response:
        signature = hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return httpx2.post(f"{live.url}/hooks/{tenant}/{source}", content=body, headers={"x-signature": signature})

    return send
