"""The JSON admin API over a live service: credentials, tenants, event search and detail, dead letters,
quarantine, and its OpenAPI description."""

from __future__ import annotations

from pathlib import Path

import httpx2
import orjson

from e2e.harness import wait_until
from inboxbridge.sandbox import SandboxServer

from .conftest import SITES, Post, chat_body
from .live import ADMIN, TOKEN, LiveService, settings_for

MESSAGES = "/inbox/v2/messages"


def _status(client: httpx2.Client, event_id: int) -> str:
    return str(client.get(f"/admin/api/events/{event_id}").json()["status"])


def _fail_sends(sandbox: SandboxServer) -> None:
    faults = {"errorRates": {"503": 1.0}, "pathPrefix": MESSAGES}
    assert httpx2.put(f"{sandbox.url}/_sandbox/faults", json=faults).status_code == 200


def test_without_admin_settings_every_admin_request_is_refused_with_how_to_enable(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with LiveService(settings_for(sandbox.url, tmp_path / "ib.db", SITES, admin=None)) as live:
        for path in ("/admin/api/tenants", "/admin/", "/admin/events"):
            answer = httpx2.get(live.url + path, auth=ADMIN)
            assert answer.status_code == 403
            assert "[admin]" in answer.json()["detail"]
            assert "INBOXBRIDGE_ADMIN__PASSWORD" in answer.json()["detail"]


def test_credentials_basic_or_bearer_and_nothing_else(live: LiveService) -> None:
    url = f"{live.url}/admin/api/tenants"
    assert httpx2.get(url, auth=ADMIN).status_code == 200
    assert httpx2.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    for auth in (None, (ADMIN[0], "wrong"), ("root", ADMIN[1])):
        refused = httpx2.get(url, auth=auth)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
    assert httpx2.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_tenants_search_and_event_detail(live: LiveService, post: Post, sandbox: SandboxServer) -> None:
    secret_payload = orjson.loads(chat_body("e1", "ana@example.com", "Is my order ready?"))
    secret_payload["api_key"] = "provider-secret-value"
    assert post("shop", orjson.dumps(secret_payload)).status_code == 202
    assert post("shop", chat_body("e2", None, "Call me", phone="+15551234567")).status_code == 202
    admin = live.admin()
    wait_until(lambda: admin.get("/admin/api/tenants").json()[1]["delivered"] == 2, what="two deliveries")
    cafe, shop = admin.get("/admin/api/tenants").json()
    assert (cafe["tenant"], cafe["accepted"]) == ("cafe", 0)
    assert shop | {"oldest_pending_age_seconds": None} == {
        "tenant": "shop",
        "status": "active",
        "instance_id": None,
        "accepted": 2,
        "delivered": 2,
        "pending": 0,
        "in_flight": 0,
        "retrying": 0,
        "retrying_exact": True,
        "dead": 0,
        "parked": 0,
        "oldest_pending_age_seconds": None,
        "last_error": None,
        "last_error_event_id": None,
    }
    (by_email,) = admin.get("/admin/api/events", params={"customer": "ana@"}).json()
    (by_phone,) = admin.get("/admin/api/events", params={"customer": "555123"}).json()
    assert by_phone["customer"] == "phone:+15551234567"
    assert admin.get("/admin/api/events", params={"status": "dead"}).json() == []
    assert admin.get("/admin/api/events", params={"tenant": "cafe"}).json() == []

    detail = admin.get(f"/admin/api/events/{by_email['id']}").json()
    assert detail["payload"]["api_key"] == "***"
    assert detail["payload"]["customer"]["email"] == "ana@example.com"
    assert "provider-secret-value" not in admin.get(f"/admin/api/events/{by_email['id']}").text
    assert detail["rendered"]["content"]["basic"]["items"] == [{"text": "Is my order ready?"}]
    assert detail["rendered"]["badges"][0]["text"] == "Chat"
    (attempt,) = detail["attempt_history"]
    assert attempt["outcome"] == "delivered"
    assert attempt["conversation_id"] == detail["conversation_id"]
    assert {link["url"] for link in detail["links"]} == {
        f"{sandbox.url}/?site={SITES['shop']}",
        f"{sandbox.url}/_sandbox/sites/{SITES['shop']}/conversations",
    }
    assert admin.get("/admin/api/events/999").status_code == 404


def test_dead_letters_replayed_one_or_all_and_dropped(live: LiveService, post: Post, sandbox: SandboxServer) -> None:
    admin = live.admin()
    _fail_sends(sandbox)
    ids = [
        post("shop", chat_body(f"d{i}", f"dead{i}@example.com", f"dead {i}")).json()["eventIds"][0] for i in range(3)
    ]
    ids.append(post("cafe", chat_body("d3", "dead3@example.com", "dead 3")).json()["eventIds"][0])
    wait_until(lambda: all(_status(admin, i) == "dead" for i in ids), what="four dead letters")
    assert len(admin.get("/admin/api/dead-letters", params={"tenant": "shop"}).json()) == 3
    shop = admin.get("/admin/api/tenants").json()[1]
    assert shop["dead"] == 3
    assert shop["last_error"].startswith("gave up after 2 tries: Wix 503")
    (attempt, *_) = admin.get(f"/admin/api/events/{ids[0]}").json()["attempt_history"]
    assert (attempt["outcome"], attempt["wix_status"]) == ("retry", 503)
    httpx2.delete(f"{sandbox.url}/_sandbox/faults")

    assert admin.post("/admin/api/dead-letters/replay", json={}).status_code == 422
    assert admin.post(f"/admin/api/events/{ids[0]}/replay").json() == {"replayed": 1}
    wait_until(lambda: _status(admin, ids[0]) == "delivered", what="the replayed event")
    replayed = admin.post("/admin/api/dead-letters/replay", json={"all": True, "tenant": "shop"})
    assert replayed.json() == {"replayed": 2}
    wait_until(lambda: all(_status(admin, i) == "delivered" for i in ids[:3]), what="the shop's replays")
    assert _status(admin, ids[3]) == "dead"
    assert admin.post("/admin/api/dead-letters/drop", json={"ids": [ids[0]]}).json() == {"dropped": 0}
    assert admin.post("/admin/api/dead-letters/drop", json={"all": True}).json() == {"dropped": 1}
    assert admin.get(f"/admin/api/events/{ids[3]}").status_code == 404


def test_cross_site_writes_are_refused_even_with_credentials(live: LiveService) -> None:
    admin = live.admin()
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = admin.post("/admin/api/dead-letters/replay", json={"all": True}, headers=headers)
        assert answer.status_code == 403
        assert "cross-site" in answer.json()["detail"]
    same = admin.post("/admin/api/dead-letters/replay", json={"all": True}, headers={"Origin": live.url})
    assert same.json() == {"replayed": 0}


def test_quarantine_listed_reingest_refused_while_still_unreadable_and_deleted(live: LiveService, post: Post) -> None:
    refused = post("shop", b'{"id": "q1", "at": "2026-11-26T10:00:00Z", "text": "who am I?"}')
    assert refused.status_code == 400
    quarantine_id = refused.json()["quarantineId"]
    admin = live.admin()
    (row,) = admin.get("/admin/api/quarantine").json()
    assert (row["id"], row["tenant"], row["source"]) == (quarantine_id, "shop", "chat")
    assert "who am I?" in row["body"]
    assert row["headers"]["x-signature"] == "***"
    again = admin.post(f"/admin/api/quarantine/{quarantine_id}/reingest")
    assert again.status_code == 422
    assert again.json()["detail"].startswith("still unreadable")
    assert admin.delete(f"/admin/api/quarantine/{quarantine_id}").json() == {"deleted": True}
    assert admin.get(f"/admin/api/quarantine/{quarantine_id}").status_code == 404


def test_admin_api_is_in_the_openapi_document_and_pages_are_not(live: LiveService) -> None:
    document = httpx2.get(f"{live.url}/openapi.json").json()
    for path in (
        "/admin/api/tenants",
        "/admin/api/events",
        "/admin/api/events/{event_id}",
        "/admin/api/dead-letters/replay",
        "/admin/api/quarantine/{quarantine_id}/reingest",
    ):
        assert path in document["paths"]
    assert "EventDetail" in document["components"]["schemas"]
    assert not any(p.startswith("/admin/") and "/api/" not in p for p in document["paths"])
