"""The service's app in this process over ASGI (no worker), with every connector for a few tenants."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2

from inboxbridge.config import load_settings
from inboxbridge.sandbox import SandboxServer
from inboxbridge.server import create_app
from inboxbridge.service import Service

from .connectors import PUBLIC, Connector, Req, source_settings

__all__ = ["TENANTS", "app_client", "post", "tenant_secret"]

TENANTS = ("alpha", "beta")


def tenant_secret(connector: Connector, tenant: str) -> str:
    """Each tenant has its own secret for each connector (the first tenant the connector's default)."""
    if tenant == TENANTS[0]:
        return connector.secret
    if connector.secret.startswith("whsec_") and connector.name == "standard":
        return "whsec_" + base64.b64encode(f"{tenant}-standard-webhooks-key".encode()).decode()
    return f"{connector.secret}-{tenant}"


@asynccontextmanager
async def app_client(sandbox: SandboxServer, database: Path, **extra: Any) -> AsyncIterator[httpx2.AsyncClient]:
    """An HTTP client into the app; ``client.service`` is the running service (store, tenants)."""
    tenants = {
        name: {
            "wix": {"api_key": f"key-{name}", "site_id": f"00000000-0000-4000-8000-{i:012d}"},
            "sources": source_settings(lambda c, name=name: tenant_secret(c, name)),
            "policy": {"default_phone_region": "US"},
        }
        for i, name in enumerate(TENANTS)
    }
    settings = load_settings(
        None,
        database_url=f"sqlite:///{database}",
        public_base_url=PUBLIC,
        wix={"base_url": sandbox.url},
        tenants=tenants,
        **extra,
    )
    service = Service(settings, run_worker=False)
    await service.start()
    try:
        transport = httpx2.ASGITransport(app=create_app(service))
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            client.service = service  # type: ignore[attr-defined]
            yield client
    finally:
        await service.stop()


async def post(client: httpx2.AsyncClient, tenant: str, source: str, req: Req) -> httpx2.Response:
    """POST a provider's request to the tenant's webhook URL of that source."""
    return await client.post(f"/hooks/{tenant}/{source}", content=req.body, headers=req.headers, params=req.query)
