"""Conversation merges and app install/remove, with Wix's signed app webhooks posted to a real receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import pytest

from inboxbridge.sandbox import DEMO_APP_ID, DEMO_APP_SECRET, DEMO_SITE_ID, SandboxServer, default_config

from .support import API_HEADERS, Receiver, application_error, create_contact, open_conversation, text_message


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def server(receiver: Receiver) -> Iterator[SandboxServer]:
    config = default_config()
    config.apps[0].webhook_url = receiver.url
    with SandboxServer(config) as sb:
        yield sb


@pytest.fixture(scope="module")
def admin(server: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.url + "/_sandbox", timeout=10.0) as client:
        yield client


@pytest.fixture(scope="module")
def anon(server: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.url, timeout=10.0) as client:
        yield client


@pytest.fixture(scope="module")
def wix(server: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server.url, headers=API_HEADERS, timeout=10.0) as client:
        yield client


@pytest.fixture(autouse=True)
def _clear_receiver(receiver: Receiver) -> None:
    receiver.bodies.clear()


def decode(admin: httpx2.Client, body: bytes) -> dict[str, Any]:
    """Verify a webhook body with the app's public key and unwrap Wix's nested JSON strings."""
    public_key = admin.get(f"/apps/{DEMO_APP_ID}/public-key").json()["publicKeyPem"]
    claims = jwt.decode(body.decode(), public_key, algorithms=["RS256"])
    envelope: dict[str, Any] = json.loads(claims["data"])
    envelope["data"] = json.loads(envelope["data"])
    envelope["identity"] = json.loads(envelope["identity"])
    return envelope


def texts(wix: httpx2.Client, conversation_id: str) -> list[str]:
    listed = wix.get("/inbox/v2/messages", params={"conversationId": conversation_id, "visibility": "BUSINESS"})
    return [m["content"]["basic"]["items"][0]["text"] for m in listed.json()["messages"]]


def test_becoming_a_member_merges_the_conversation(
    wix: httpx2.Client, admin: httpx2.Client, receiver: Receiver
) -> None:
    contact_id = create_contact(wix, "member@example.com")
    old_id = open_conversation(wix, contact_id)
    for text in ("one", "two"):
        wix.post("/inbox/v2/messages", json=text_message(old_id, text)).raise_for_status()

    merged = admin.post(f"/contacts/{contact_id}/become-member").json()
    new_id = merged["conversationId"]
    assert new_id != old_id
    assert merged["mergedFrom"] == [old_id]

    for answer in (
        wix.get(f"/inbox/v2/conversations/{old_id}"),
        wix.post("/inbox/v2/messages", json=text_message(old_id, "late")),
        wix.get("/inbox/v2/messages", params={"conversationId": old_id, "visibility": "BUSINESS"}),
    ):
        assert answer.status_code == 404
        assert application_error(answer)["code"] == "CONVERSATION_NOT_FOUND"

    again = wix.post("/inbox/v2/conversations", json={"participantId": {"contactId": contact_id}}).json()
    assert again["newConversation"] is False
    assert again["conversation"]["id"] == new_id
    assert again["conversation"]["participant"] == {"memberId": merged["memberId"], "contactId": contact_id}
    assert texts(wix, new_id) == ["two", "one"]
    by_member = wix.post("/inbox/v2/conversations", json={"participantId": {"memberId": merged["memberId"]}})
    assert by_member.json()["conversation"]["id"] == new_id

    conversations = admin.get(f"/sites/{DEMO_SITE_ID}/conversations").json()["conversations"]
    assert [(c["id"], c["mergedFrom"]) for c in conversations] == [(new_id, [old_id])]

    assert len(receiver.bodies) == 1
    content_type, body = receiver.bodies[0]
    assert content_type.startswith("text/plain")
    event = decode(admin, body)
    assert event["eventType"] == "wix.crm.inbox.v2.conversation_conversations_merged"
    assert event["instanceId"]
    assert event["data"]["slug"] == "conversations_merged"
    assert event["data"]["entityFqdn"] == "wix.crm.inbox.v2.conversation"
    assert event["data"]["actionEvent"]["body"] == {"oldConversationIds": [old_id], "targetConversationId": new_id}


def test_a_member_without_conversation_sends_no_event(
    wix: httpx2.Client, admin: httpx2.Client, receiver: Receiver
) -> None:
    contact_id = create_contact(wix, "quiet@example.com")
    answer = admin.post(f"/contacts/{contact_id}/become-member").json()
    assert answer["conversationId"] is None
    assert receiver.bodies == []
    assert admin.post(f"/contacts/{contact_id}/become-member").status_code == 409


def test_install_and_remove_post_app_events_and_gate_tokens(
    anon: httpx2.Client, admin: httpx2.Client, receiver: Receiver
) -> None:
    installed = admin.post(f"/apps/{DEMO_APP_ID}/instances", json={"siteId": DEMO_SITE_ID}).json()
    instance_id = installed["instanceId"]
    assert installed["events"][0]["status"] == 200
    event = decode(admin, receiver.bodies[0][1])
    assert event["eventType"] == "AppInstalled"
    assert event["instanceId"] == instance_id
    assert event["data"]["appId"] == DEMO_APP_ID

    grant = {
        "instance_id": instance_id,
        "client_id": DEMO_APP_ID,
        "client_secret": DEMO_APP_SECRET,
        "grant_type": "client_credentials",
    }
    token = anon.post("/oauth2/token", json=grant).json()["access_token"]
    assert (
        anon.post("/contacts/v4/contacts/query", json={"query": {}}, headers={"Authorization": token}).status_code
        == 200
    )

    removed = admin.delete(f"/apps/{DEMO_APP_ID}/instances/{instance_id}")
    assert removed.status_code == 200
    event = decode(admin, receiver.bodies[1][1])
    assert event["eventType"] == "AppRemoved"
    assert event["data"] == {"appId": DEMO_APP_ID}
    assert (
        anon.post("/contacts/v4/contacts/query", json={"query": {}}, headers={"Authorization": token}).status_code
        == 401
    )
    assert anon.post("/oauth2/token", json=grant).status_code == 403
    assert len(admin.get("/events").json()["events"]) == 2


def test_public_key_as_pem_and_unknown_app(admin: httpx2.Client) -> None:
    pem = admin.get(f"/apps/{DEMO_APP_ID}/public-key", params={"format": "pem"}).text
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert admin.get("/apps/nope/public-key").status_code == 404
    assert admin.post("/apps/nope/instances", json={"siteId": DEMO_SITE_ID}).status_code == 404
