"""Wix app webhooks: which tokens are accepted, and an event whose handling failed is handled when Wix retries it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inboxbridge.sandbox import SandboxConfig, SandboxServer
from inboxbridge.server.wix_events import WixEventError, decode_wix_event
from inboxbridge.store import StoreUnavailable, TenantStatus
from reliability.inprocess import app_client
from reliability.wix_app import WixApp

INSTANCE = "6f5e4d3c-2b1a-4098-8765-43210fedcba9"


@pytest.fixture(scope="module")
def wix_app() -> WixApp:
    return WixApp.new()


@pytest.mark.parametrize(
    ("claims", "refusal"),
    [
        ({"lifetime": None}, 'missing the "exp" claim'),
        ({"iat": None}, 'missing the "iat" claim'),
        ({"iat": 0}, "older than 3600 seconds"),
        ({"age": 3700, "lifetime": 9000}, "older than 3600 seconds"),
        ({"age": 1000, "lifetime": 500}, "expired"),
        ({"age": -120}, "not yet valid"),
    ],
)
def test_a_token_without_bounds_or_out_of_them_is_refused(
    wix_app: WixApp, claims: dict[str, Any], refusal: str
) -> None:
    with pytest.raises(WixEventError, match=refusal):
        decode_wix_event(wix_app.event("AppRemoved", INSTANCE, **claims), wix_app.public_pem)


@pytest.mark.parametrize("claims", [{"age": 3600}, {"age": -30}, {"age": 1000, "lifetime": 960}])
def test_a_token_within_the_leeway_is_accepted(wix_app: WixApp, claims: dict[str, Any]) -> None:
    assert decode_wix_event(wix_app.event("AppRemoved", INSTANCE, **claims), wix_app.public_pem).instance_id == INSTANCE


def test_claims_we_do_not_check_do_not_refuse_a_token(wix_app: WixApp) -> None:
    token = wix_app.event("AppRemoved", INSTANCE, aud=["someone"], iss="wix.com", sub=7, jti=8, nbf=0)
    assert decode_wix_event(token, wix_app.public_pem).event_type == "AppRemoved"


def test_another_keys_token_is_refused_as_unsigned(wix_app: WixApp) -> None:
    with pytest.raises(WixEventError, match="not a JWT signed by the app's key"):
        decode_wix_event(WixApp.new().event("AppRemoved", INSTANCE), wix_app.public_pem)


def test_one_event_id_is_one_event_and_events_without_one_are_their_token(wix_app: WixApp) -> None:
    def key(token: bytes) -> str:
        return decode_wix_event(token, wix_app.public_pem).replay_key

    merged = {"id": "event-1", "actionEvent": {"body": {}}}
    kind = "wix.crm.inbox.v2.conversation_conversations_merged"
    assert key(wix_app.event(kind, INSTANCE, merged, age=5)) == key(wix_app.event(kind, INSTANCE, merged))
    assert key(wix_app.event(kind, INSTANCE, merged)) != key(wix_app.event(kind, "other", merged))
    removal = wix_app.event("AppRemoved", INSTANCE)
    assert key(removal) != key(wix_app.event("AppRemoved", INSTANCE, age=5))


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(sites=[], requests_per_minute=1_000_000)) as server:
        yield server


async def test_an_event_that_failed_is_handled_when_wix_retries_it(
    sandbox: SandboxServer, tmp_path: Path, wix_app: WixApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    install = wix_app.event("AppInstalled", INSTANCE)
    async with app_client(sandbox, tmp_path / "ib.db", wix_app=wix_app.settings()) as client:
        service = client.service  # type: ignore[attr-defined]
        real = service.queue.start_tenant

        async def unavailable(tenant: str) -> int:
            raise StoreUnavailable("starting a tenant on the test database: disk I/O error")

        monkeypatch.setattr(service.queue, "start_tenant", unavailable)
        failed = await client.post("/wix/webhooks", content=install)
        monkeypatch.setattr(service.queue, "start_tenant", real)
        retried = await client.post("/wix/webhooks", content=install)
        again = await client.post("/wix/webhooks", content=install)
        row = await service.ledger.get_tenant(INSTANCE)
    assert failed.status_code == 503
    assert retried.status_code == 200 and retried.json()["handled"] is True
    assert again.status_code == 200 and again.json()["handled"] is False
    assert row is not None and row.status is TenantStatus.ACTIVE
