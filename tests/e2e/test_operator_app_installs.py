"""Sites installing and removing the Wix app at run time: a tenant per instance, OAuth tokens, parking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from inboxbridge.providers import parse_source_config
from inboxbridge.sandbox import AppConfig, SandboxConfig, SandboxServer, SiteConfig
from inboxbridge.site_secrets import site_secrets

from .harness import Inbox, ServiceProcess, chat, free_port, rsa_key_pair, stamp, texts, wait_until

SITE = "00000000-0000-4000-8000-00000000b0b0"
APP_ID = "aaaaaaaa-0000-4000-8000-0000000000a1"
INSTANCE = "cccccccc-0000-4000-8000-0000000000c3"
AUTH = ("ops", "ops-password")
TEMPLATE_SECRET = "e2e-template-chat-secret-0123456789abcdef"
MAPPING = {"event_id": "id", "occurred_at": "at", "email": "customer.email", "text": "text"}
# The installed site's own secret for the template's chat source, as `inboxbridge secret` prints it.
SITE_SECRET = site_secrets(
    parse_source_config({"type": "generic", "secret": TEMPLATE_SECRET, "mapping": MAPPING}), INSTANCE, "chat"
)["secret"]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[SandboxServer, ServiceProcess]]:
    private, public = rsa_key_pair()
    port = free_port()
    sandbox = SandboxServer(
        SandboxConfig(
            sites=[SiteConfig(site_id=SITE, name="Installed shop")],
            apps=[
                AppConfig(
                    app_id=APP_ID,
                    app_secret="app-secret",
                    instances={},
                    webhook_url=f"http://127.0.0.1:{port}/wix/webhooks",
                    private_key_pem=private,
                    public_key_pem=public,
                )
            ],
            requests_per_minute=100_000,
        )
    ).start()
    config = tmp_path / "inboxbridge.toml"
    config.write_text(
        f"""
database_url = "sqlite:///{tmp_path / "ib.db"}"
port = {port}
[wix]
base_url = "{sandbox.url}"
requests_per_minute = 100000
[worker]
poll_interval_seconds = 0.05
[admin]
username = "{AUTH[0]}"
password = "{AUTH[1]}"
[wix_app]
app_id = "{APP_ID}"
app_secret = "app-secret"
public_key = '''{public}'''
[wix_app.sources.chat]
type = "generic"
secret = "{TEMPLATE_SECRET}"
[wix_app.sources.chat.mapping]
event_id = "id"
occurred_at = "at"
email = "customer.email"
text = "text"
"""
    )
    service = ServiceProcess(config, port, tmp_path / "service.log").start()
    yield sandbox, service
    service.stop()
    sandbox.stop()


def _post(service: ServiceProcess, body: bytes) -> int:
    """POST to the installed site's chat source, signed with the site's own secret."""
    return service.post(INSTANCE, "chat", body, secret=SITE_SECRET).status_code


def _tenant(service: ServiceProcess) -> dict[str, object]:
    (row,) = [t for t in httpx2.get(f"{service.url}/admin/api/tenants", auth=AUTH).json() if t["tenant"] == INSTANCE]
    return dict(row)


def test_install_serves_the_site_removal_parks_and_reinstall_delivers_what_was_kept(
    setup: tuple[SandboxServer, ServiceProcess],
) -> None:
    sandbox, service = setup
    box = Inbox(sandbox.url, SITE)
    assert _post(service, chat("m0", "ana@example.com", "too early")) == 404

    installed = httpx2.post(
        f"{sandbox.url}/_sandbox/apps/{APP_ID}/instances", json={"siteId": SITE, "instanceId": INSTANCE}
    ).json()
    assert [e["status"] for e in installed["events"]] == [200]
    assert _post(service, chat("m1", "ana@example.com", "hello", at=stamp(1))) == 202
    wait_until(lambda: len(box.all_messages()) == 1, what="the first message of the installed site")
    assert {r["authKind"] for r in box.requests()} == {"oauth"}
    assert _tenant(service)["status"] == "active"
    assert _tenant(service)["instance_id"] == INSTANCE

    removed = httpx2.delete(f"{sandbox.url}/_sandbox/apps/{APP_ID}/instances/{INSTANCE}").json()
    assert [e["status"] for e in removed["events"]] == [200]
    # Still accepted, and kept aside: the site may install the app again.
    assert _post(service, chat("m2", "ana@example.com", "while away", at=stamp(2))) == 202
    wait_until(lambda: _tenant(service)["parked"] == 1, what="the webhook to be parked")
    assert _tenant(service)["status"] == "stopped"

    # A restart remembers the installed tenant and its state.
    service.stop()
    service.start()
    assert _post(service, chat("m3", "ana@example.com", "after restart", at=stamp(3))) == 202
    wait_until(lambda: _tenant(service)["parked"] == 2, what="the second parked webhook")
    assert len(box.all_messages()) == 1

    again = httpx2.post(
        f"{sandbox.url}/_sandbox/apps/{APP_ID}/instances", json={"siteId": SITE, "instanceId": INSTANCE}
    ).json()
    assert [e["status"] for e in again["events"]] == [200]
    wait_until(lambda: len(box.all_messages()) == 3, what="the kept messages after reinstalling")
    assert [texts(m) for m in box.all_messages()] == ["hello", "while away", "after restart"]
    assert _tenant(service)["status"] == "active"
