"""Configured tenants are registered on start, without undoing what Wix told us about them since."""

from __future__ import annotations

from pathlib import Path

from inboxbridge.config import load_settings
from inboxbridge.sandbox import DEMO_API_KEY, DEMO_SITE_ID, SandboxServer, default_config
from inboxbridge.service import Service
from inboxbridge.store import TenantStatus


async def test_a_stopped_tenant_stays_stopped_after_a_restart(tmp_path: Path) -> None:
    with SandboxServer(default_config()) as sandbox:
        settings = load_settings(
            None,
            database_url=f"sqlite:///{tmp_path / 'ib.db'}",
            wix={"base_url": sandbox.url},
            tenants={
                "acme": {"wix": {"api_key": DEMO_API_KEY, "site_id": DEMO_SITE_ID}},
                "beta": {"wix": {"api_key": DEMO_API_KEY, "site_id": DEMO_SITE_ID}},
            },
        )
        first = Service(settings, run_worker=False)
        await first.start()
        await first.store.queue.stop_tenant("acme")
        await first.stop()

        second = Service(settings, run_worker=False)
        await second.start()
        try:
            acme = await second.store.ledger.get_tenant("acme")
            beta = await second.store.ledger.get_tenant("beta")
        finally:
            await second.stop()
    assert acme is not None and acme.status is TenantStatus.STOPPED
    assert beta is not None and beta.status is TenantStatus.ACTIVE
