"""Security suite, the Wix app: sites that install the app, and the events Wix signs for it.

- Template secret bound to the site: each installed site gets the ``[wix_app.sources]`` template with secrets of its
  own, so a request genuinely signed for one site is refused on another site's URL, and the template's secret
  itself is refused everywhere; a source whose secret the provider issues cannot be a template at all.
- Instance id vs tenant name: an app event for an instance whose id is the name of an API-key tenant leaves that
  tenant alone.
- App event replay: a captured App Removed posted again after the site installed the app again does nothing, an
  event id is handled once however often Wix signs it, and tokens without ``exp``, issued at 0, too old or issued
  in the future are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from inboxbridge.config import ConfigError, load_settings
from inboxbridge.sandbox import SandboxConfig, SandboxServer
from inboxbridge.store import TenantStatus

from .inprocess import TENANTS, app_client, post, tenant_secret
from .report import Figure, Figures
from .wix_app import ISSUED, TEMPLATED, WixApp, site_secret, template_secret

SITE_A = "6f5e4d3c-2b1a-4098-8765-43210fedcba9"
SITE_B = "0d1c2b3a-4958-4677-8695-a4b3c2d1e0f9"
MERGED = "wix.crm.inbox.v2.conversation_conversations_merged"


@pytest.fixture(scope="module")
def wix_app() -> WixApp:
    return WixApp.new()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(sites=[], requests_per_minute=1_000_000)) as server:
        yield server


async def _event(client: httpx2.AsyncClient, token: bytes) -> httpx2.Response:
    return await client.post("/wix/webhooks", content=token)


async def _install(client: httpx2.AsyncClient, wix_app: WixApp, instance_id: str, *, age: int = 0) -> None:
    answer = await _event(client, wix_app.event("AppInstalled", instance_id, age=age))
    assert answer.status_code == 200 and answer.json()["handled"] is True, answer.text


async def test_a_request_signed_for_one_site_is_refused_on_another(
    sandbox: SandboxServer, tmp_path: Path, wix_app: WixApp, figures: Figures
) -> None:
    answers: list[tuple[str, str, int]] = []
    async with app_client(sandbox, tmp_path / "ib.db", wix_app=wix_app.settings()) as client:
        for site in (SITE_A, SITE_B):
            await _install(client, wix_app, site)
        for n, connector in enumerate(TEMPLATED):
            assert site_secret(connector, SITE_A) != site_secret(connector, SITE_B), connector.name
            for case, secret, site in (
                ("own secret", site_secret(connector, SITE_A), SITE_A),
                ("other site's URL", site_secret(connector, SITE_A), SITE_B),
                ("template secret", template_secret(connector), SITE_A),
            ):
                path = f"/hooks/{site}/{connector.name}"
                answer = await post(client, site, connector.name, connector.valid(n, path, secret=secret))
                answers.append((connector.name, case, answer.status_code))
    expected = {"own secret": 202, "other site's URL": 401, "template secret": 401}
    assert [(name, case, status) for name, case, status in answers if status != expected[case]] == []

    refused_templates = []
    for connector in ISSUED:
        app = {**wix_app.settings(), "sources": {connector.name: connector.config(template_secret(connector))}}
        with pytest.raises(ConfigError) as refused:
            load_settings(None, wix_app=app)
        assert f"source '{connector.name}': a " in str(refused.value)
        assert "cannot be a template for every site" in str(refused.value)
        refused_templates.append(connector.name)

    forged = [a for a in answers if a[1] != "own secret"]
    figures.record(
        Figure(
            "security",
            "template secret bound to the site",
            f"two sites install the app, whose [wix_app.sources] template holds the {len(TEMPLATED)} sources whose "
            "secret we choose; each source's request signed with site A's derived secret is posted to A's URL and "
            "to B's, and one signed with the template's secret to A's; the "
            f"{len(ISSUED)} sources whose secret the provider issues are offered as a template",
            len(answers) + len(refused_templates),
            f"{len(forged)} requests signed for another site or with the template secret, "
            f"{len(refused_templates)} provider-issued template sources",
            None,
            None,
            None,
            0,
            f"each site's own request stored (202), every cross-site or template-signed one refused (401); "
            f"{', '.join(refused_templates)} refused as templates at config load",
        )
    )


async def test_an_app_event_for_an_instance_named_like_a_tenant_leaves_it_running(
    sandbox: SandboxServer, tmp_path: Path, wix_app: WixApp, figures: Figures
) -> None:
    tenant = TENANTS[0]
    generic = next(c for c in TEMPLATED if c.name == "generic")
    async with app_client(sandbox, tmp_path / "ib.db", wix_app=wix_app.settings()) as client:
        ledger = client.service.store.ledger  # type: ignore[attr-defined]
        removed = await _event(client, wix_app.event("AppRemoved", tenant))
        installed = await _event(client, wix_app.event("AppInstalled", tenant))
        merged = await _event(client, wix_app.event(MERGED, tenant, {"id": "e1", "actionEvent": {"body": {}}}))
        row = await ledger.get_tenant(tenant)
        path = f"/hooks/{tenant}/generic"
        webhook = await post(client, tenant, "generic", generic.valid(0, path, secret=tenant_secret(generic, tenant)))
        counts = await ledger.counts(tenant)
    assert removed.status_code == 200 and removed.json() == {
        "eventType": "AppRemoved",
        "handled": False,
        "tenants": [],
        "parked": 0,
    }
    assert installed.status_code == 200 and installed.json()["handled"] is False
    assert "configured tenant" in installed.json()["reason"]
    assert merged.status_code == 200 and merged.json()["tenants"] == []
    assert row is not None and row.status is TenantStatus.ACTIVE and row.instance_id is None
    assert webhook.status_code == 202
    assert counts["pending"] == 1 and counts["parked"] == 0
    figures.record(
        Figure(
            "security",
            "instance id vs tenant name",
            "App Removed, App Installed and conversations-merged events signed by the app for an instance whose id "
            f"is the name of an API-key tenant ({tenant!r}), then a webhook of that tenant",
            4,
            "3 app events naming another tenant",
            counts["parked"],
            None,
            None,
            0,
            "the tenant stays active with no instance id, its webhook stored pending, not parked; each event "
            "answered 200 with no tenant acted on",
        )
    )


def _status(answer: httpx2.Response) -> Any:
    return answer.json().get("handled") if answer.status_code == 200 else answer.status_code


async def test_a_replayed_or_stale_app_event_does_nothing(
    sandbox: SandboxServer, tmp_path: Path, wix_app: WixApp, figures: Figures
) -> None:
    merge = {
        "id": "5b2e0d3c-event-0001",
        "actionEvent": {"body": {"oldConversationIds": [], "targetConversationId": "t"}},
    }
    async with app_client(sandbox, tmp_path / "ib.db", wix_app=wix_app.settings()) as client:
        ledger = client.service.store.ledger  # type: ignore[attr-defined]
        # Tokens of one kind for one instance differ by their iat: each is signed at a different second.
        await _install(client, wix_app, SITE_A, age=30)
        removal = wix_app.event("AppRemoved", SITE_A, age=20)
        first_removal = await _event(client, removal)
        await _install(client, wix_app, SITE_A, age=10)
        first_merge = await _event(client, wix_app.event(MERGED, SITE_A, merge, age=5))
        replays = {
            "App Removed again after a reinstall": await _event(client, removal),
            "an event id signed anew": await _event(client, wix_app.event(MERGED, SITE_A, merge)),
        }
        stale = {
            "no exp": await _event(client, wix_app.event("AppRemoved", SITE_A, lifetime=None)),
            "no iat": await _event(client, wix_app.event("AppRemoved", SITE_A, iat=None)),
            "iat 0": await _event(client, wix_app.event("AppRemoved", SITE_A, iat=0)),
            "2 hours old, exp ahead": await _event(
                client, wix_app.event("AppRemoved", SITE_A, age=7200, lifetime=9000)
            ),
            "expired": await _event(client, wix_app.event("AppRemoved", SITE_A, age=1000, lifetime=600)),
            "issued 10 minutes ahead": await _event(client, wix_app.event("AppRemoved", SITE_A, age=-600)),
        }
        row = await ledger.get_tenant(SITE_A)
        # Claims we have no value for are not held against an event.
        with_claims = await _event(
            client, wix_app.event("AppRemoved", SITE_A, age=1, aud="some-app", iss="wix.com", sub="x", jti="j")
        )
    assert _status(first_removal) is True and _status(first_merge) is True
    assert {case: _status(answer) for case, answer in replays.items()} == dict.fromkeys(replays, False)
    assert all("received before" in answer.json()["reason"] for answer in replays.values())
    assert {case: answer.status_code for case, answer in stale.items()} == dict.fromkeys(stale, 401)
    assert row is not None and row.status is TenantStatus.ACTIVE
    assert _status(with_claims) is True
    figures.record(
        Figure(
            "security",
            "app event replay",
            "a site installs the app, removes it and installs it again; the captured App Removed is posted again, "
            "a conversations-merged event id comes again in a new token, and App Removed tokens without exp, "
            "without iat, with iat 0, 2 hours old, expired, or issued 10 minutes ahead are posted",
            2 + len(replays) + len(stale) + 1,
            f"{len(replays)} replays, {len(stale)} stale or unbounded tokens",
            None,
            None,
            None,
            0,
            "replays answered 200 with handled false and the reason, nothing done (the site stays active); "
            "stale tokens refused (401); aud, iss, sub and jti claims not held against a fresh event",
        )
    )
