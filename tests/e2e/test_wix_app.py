"""A tenant that is a Wix app instance: OAuth tokens, and Wix's conversations-merged webhook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import jwt
import pytest

from inboxbridge.sandbox import AppConfig, SandboxConfig, SandboxServer, SiteConfig

from .harness import CHAT_SECRET, Inbox, ServiceProcess, chat, free_port, rsa_key_pair, stamp, texts, wait_until

SITE = "00000000-0000-4000-8000-00000000a0a0"
APP_ID = "aaaaaaaa-0000-4000-8000-000000000001"
INSTANCE = "bbbbbbbb-0000-4000-8000-000000000002"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[SandboxServer, ServiceProcess]]:
    private, public = rsa_key_pair()
    port = free_port()
    sandbox = SandboxServer(
        SandboxConfig(
            sites=[SiteConfig(site_id=SITE, name="App shop")],
            apps=[
                AppConfig(
                    app_id=APP_ID,
                    app_secret="app-secret",
                    instances={INSTANCE: SITE},
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
[wix_app]
app_id = "{APP_ID}"
public_key = '''{public}'''
[tenants.appshop.wix]
app_id = "{APP_ID}"
app_secret = "app-secret"
instance_id = "{INSTANCE}"
[tenants.appshop.sources.chat]
type = "generic"
secret = "{CHAT_SECRET}"
[tenants.appshop.sources.chat.mapping]
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


def test_app_instance_tenant_uses_oauth_and_follows_merges_without_a_miss(
    setup: tuple[SandboxServer, ServiceProcess],
) -> None:
    sandbox, service = setup
    box = Inbox(sandbox.url, SITE)
    email = "member-to-be@example.com"
    for i in range(2):
        assert service.post("appshop", "chat", chat(f"a{i}", email, f"before {i}", at=stamp(i))).status_code == 202
    wait_until(lambda: len(box.all_messages()) == 2, what="the first messages")
    assert {r["authKind"] for r in box.requests()} == {"oauth"}
    contact_id = box.contacts()[0]["id"]
    merged = httpx2.post(f"{sandbox.url}/_sandbox/contacts/{contact_id}/become-member").json()
    assert [e["status"] for e in merged["events"]] == [200], merged["events"]
    before = len(box.requests())

    assert service.post("appshop", "chat", chat("a2", email, "after", at=stamp(2))).status_code == 202
    wait_until(lambda: len(box.all_messages()) == 3, what="the message after the merge")
    (conversation,) = box.conversations()
    assert [texts(m) for m in conversation["messages"]] == ["before 0", "before 1", "after"]
    after_merge = box.requests()[before:]
    # The webhook dropped the stale id: Wix was asked for the new conversation, and no send hit the old one.
    assert [(r["method"], r["path"], r["status"]) for r in after_merge] == [
        ("POST", "/inbox/v2/conversations", 200),
        ("POST", "/inbox/v2/messages", 200),
    ]


def test_wix_webhook_not_signed_by_the_app_is_refused(setup: tuple[SandboxServer, ServiceProcess]) -> None:
    _, service = setup
    forged = jwt.encode({"data": '{"eventType": "x"}'}, rsa_key_pair()[0], algorithm="RS256")
    answer = httpx2.post(f"{service.url}/wix/webhooks", content=forged)
    assert answer.status_code == 401
    assert "signed" in answer.json()["error"]
