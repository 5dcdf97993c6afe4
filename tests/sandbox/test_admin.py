"""The sandbox's admin side: seed, reset, inspect, request log, overlaps, the Inbox page, config files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx2

from inboxbridge.sandbox import DEMO_SITE_ID, SandboxConfig, SandboxServer

from .support import API_HEADERS, create_contact, open_conversation, text_message


def test_health(admin: httpx2.Client) -> None:
    assert admin.get("/health").json() == {"ok": True}


def test_seed_adds_sites_and_contacts_usable_through_wix_paths(admin: httpx2.Client, anon: httpx2.Client) -> None:
    site = "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918"
    seeded = admin.post(
        "/seed",
        json={
            "sites": [
                {
                    "siteId": site,
                    "apiKeys": ["IST.seeded"],
                    "contacts": [
                        {
                            "id": "11111111-1111-4111-8111-111111111111",
                            "info": {"emails": {"items": [{"email": "s@example.com"}]}},
                        },
                        {"info": {"emails": {"items": [{"email": "S@example.com"}]}}},
                    ],
                }
            ]
        },
    ).json()
    assert seeded["contacts"][0]["id"] == "11111111-1111-4111-8111-111111111111"
    assert len(seeded["contacts"]) == 2
    found = anon.post(
        "/contacts/v4/contacts/query",
        json={"query": {"filter": {"info.emails.email": "s@example.com"}}},
        headers={"Authorization": "IST.seeded", "wix-site-id": site},
    )
    assert found.json()["pagingMetadata"]["total"] == 2
    assert len(admin.get(f"/sites/{site}/contacts").json()["contacts"]) == 2
    assert admin.get("/sites/unknown/contacts").status_code == 404


def test_reset_wipes_data_but_keeps_credentials(wix: httpx2.Client, admin: httpx2.Client) -> None:
    create_contact(wix, "gone@example.com")
    admin.post("/reset").raise_for_status()
    assert admin.get(f"/sites/{DEMO_SITE_ID}/contacts").json()["contacts"] == []
    assert admin.get("/requests").json()["requests"] == []
    assert wix.post("/contacts/v4/contacts/query", json={"query": {}}).status_code == 200


def test_message_count_follows_what_a_site_holds(wix: httpx2.Client, admin: httpx2.Client) -> None:
    before = admin.get(f"/sites/{DEMO_SITE_ID}/message-count").json()["messages"]
    conversation = open_conversation(wix, create_contact(wix, "counted@example.com"))
    for text in ("one", "two"):
        assert wix.post("/inbox/v2/messages", json=text_message(conversation, text)).status_code == 200
    assert admin.get(f"/sites/{DEMO_SITE_ID}/message-count").json() == {"messages": before + 2}
    missing = admin.get("/sites/00000000-0000-4000-8000-000000000000/message-count")
    assert missing.status_code == 404


def test_request_log_records_every_wix_call(wix: httpx2.Client, admin: httpx2.Client) -> None:
    contact_id = create_contact(wix, "log@example.com")
    conversation_id = open_conversation(wix, contact_id)
    wix.post("/inbox/v2/messages", json=text_message(conversation_id, "logged"))
    wix.get("/inbox/v2/messages", params={"conversationId": conversation_id})
    rows = admin.get("/requests").json()["requests"]
    assert [(r["method"], r["path"]) for r in rows] == [
        ("POST", "/contacts/v4/contacts"),
        ("POST", "/inbox/v2/conversations"),
        ("POST", "/inbox/v2/messages"),
        ("GET", "/inbox/v2/messages"),
    ]
    send = rows[2]
    assert send["siteId"] == DEMO_SITE_ID
    assert send["status"] == 200
    assert send["conversationId"] == conversation_id
    assert send["authKind"] == "apiKey"
    assert send["tokenSubject"].startswith("key-")
    assert send["startedAt"] <= send["endedAt"]
    assert send["wixRequestId"]
    assert rows[3]["query"] == f"conversationId={conversation_id}"
    only_sends = admin.get("/requests", params={"pathPrefix": "/inbox/v2/messages", "since": rows[1]["seq"]})
    assert [r["seq"] for r in only_sends.json()["requests"]] == [rows[2]["seq"], rows[3]["seq"]]
    admin.delete("/requests").raise_for_status()
    assert admin.get("/requests").json()["requests"] == []


def test_overlapping_sends_into_one_conversation_are_reported(
    sb: SandboxServer, wix: httpx2.Client, admin: httpx2.Client
) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "overlap@example.com"))
    wix.post("/inbox/v2/messages", json=text_message(conversation_id, "alone")).raise_for_status()
    assert admin.get("/overlaps").json() == {"overlaps": []}
    admin.put("/faults", json={"latencyMs": 150, "pathPrefix": "/inbox/v2/messages"}).raise_for_status()

    def send(text: str) -> None:
        with httpx2.Client(base_url=sb.url, headers=API_HEADERS) as client:
            client.post("/inbox/v2/messages", json=text_message(conversation_id, text)).raise_for_status()

    threads = [threading.Thread(target=send, args=(f"racing {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    overlaps = admin.get("/overlaps").json()["overlaps"]
    assert len(overlaps) == 1
    assert overlaps[0]["conversationId"] == conversation_id


def test_inbox_page_shows_messages_escaped(wix: httpx2.Client, anon: httpx2.Client) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "page@example.com", name={"first": "Pat"}))
    wix.post("/inbox/v2/messages", json=text_message(conversation_id, "<script>alert(1)</script> & hi"))
    activity = text_message(conversation_id, "")
    activity["message"]["content"] = {"minimal": {"text": "Order shipped", "url": "https://example.com/o/1"}}
    wix.post("/inbox/v2/messages", json=activity)
    picture = text_message(conversation_id, "", direction="BUSINESS_TO_PARTICIPANT", badges=[{"text": "SMS"}])
    picture["message"]["content"] = {"basic": {"items": [{"image": {"url": "https://example.com/cat.png"}}]}}
    wix.post("/inbox/v2/messages", json=picture)
    page = anon.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; hi" in html
    assert "<script>alert" not in html
    assert "Order shipped" in html
    assert 'href="https://example.com/o/1"' in html
    assert 'src="https://static.wixstatic.com/media/' in html
    assert "Pat" in html
    assert "business only" in html
    assert '<span class="badge">SMS</span>' in html
    assert 'class="row out private"' in html


def test_config_files_in_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "sandbox.toml"
    toml.write_text(
        """
requests_per_minute = 50
database = "DB_PATH"

[[sites]]
site_id = "site-a"
name = "Shop A"
api_keys = ["key-a"]
contacts = [{ info = { emails = { items = [{ email = "a@example.com" }] } } }]

[[apps]]
app_id = "app-a"
app_secret = "secret-a"
instances = { "inst-a" = "site-a" }
""".replace("DB_PATH", (tmp_path / "sandbox.db").as_posix())
    )
    config = SandboxConfig.load(toml)
    assert config.requests_per_minute == 50
    as_json = tmp_path / "sandbox.json"
    as_json.write_text(json.dumps({"sites": [{"siteId": "site-b", "apiKeys": ["key-b"]}], "tokenTtlSeconds": 60}))
    assert SandboxConfig.load(as_json).token_ttl_seconds == 60
    with SandboxServer(config) as sb, httpx2.Client(base_url=sb.url) as client:
        token = client.post(
            "/oauth2/token",
            json={
                "instance_id": "inst-a",
                "client_id": "app-a",
                "client_secret": "secret-a",
                "grant_type": "client_credentials",
            },
        ).json()["access_token"]
        found = client.post("/contacts/v4/contacts/query", json={"query": {}}, headers={"Authorization": token})
        assert found.json()["contacts"][0]["primaryInfo"]["email"] == "a@example.com"
        client.post("/_sandbox/reset").raise_for_status()
        again = client.post("/contacts/v4/contacts/query", json={"query": {}}, headers={"Authorization": token})
        assert again.json()["pagingMetadata"]["total"] == 1
    assert (tmp_path / "sandbox.db").exists()
