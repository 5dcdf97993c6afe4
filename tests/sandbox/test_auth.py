"""Authentication as Wix does it: API keys with wix-site-id, OAuth tokens of app instances, site walls."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from inboxbridge.sandbox import (
    DEMO_API_KEY,
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_INSTANCE_ID,
    DEMO_SITE_ID,
    SandboxServer,
)

from .support import application_error, create_contact, open_conversation, text_message

OTHER_SITE = "9b1d6c5e-0a3f-4e27-8c61-7f2a4d9e0b11"
OTHER_KEY = "IST.other-site-key"


def token_request(**overrides: Any) -> dict[str, Any]:
    return {
        "instance_id": DEMO_INSTANCE_ID,
        "client_id": DEMO_APP_ID,
        "client_secret": DEMO_APP_SECRET,
        "grant_type": "client_credentials",
        **overrides,
    }


def test_token_in_the_sdk_form_works_as_raw_authorization(anon: httpx2.Client) -> None:
    answer = anon.post("/oauth2/token", json=token_request())
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == 14400
    query = anon.post(
        "/contacts/v4/contacts/query", json={"query": {}}, headers={"Authorization": body["access_token"]}
    )
    assert query.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"client_secret": "wrong"}, 401),
        ({"client_id": "00000000-0000-4000-8000-000000000000"}, 401),
        ({"instance_id": "00000000-0000-4000-8000-000000000000"}, 403),
        ({"grant_type": "password"}, 400),
        ({"instance_id": None}, 400),
    ],
)
def test_token_errors(anon: httpx2.Client, overrides: dict[str, Any], status: int) -> None:
    body = {k: v for k, v in token_request(**overrides).items() if v is not None}
    answer = anon.post("/oauth2/token", json=body)
    assert answer.status_code == status
    assert answer.json()["message"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "IST.not-a-key", "wix-site-id": DEMO_SITE_ID}, 401),
        ({"Authorization": f"Bearer {DEMO_API_KEY}", "wix-site-id": DEMO_SITE_ID}, 401),
        ({"Authorization": DEMO_API_KEY}, 403),
        ({"Authorization": DEMO_API_KEY, "wix-site-id": OTHER_SITE}, 403),
    ],
)
def test_bad_credentials(anon: httpx2.Client, headers: dict[str, str], status: int) -> None:
    answer = anon.post("/contacts/v4/contacts/query", json={"query": {}}, headers=headers)
    assert answer.status_code == status
    assert application_error(answer)["code"] in ("UNAUTHENTICATED", "PERMISSION_DENIED")
    assert answer.headers["x-wix-request-id"]


def test_expired_token_is_401(anon: httpx2.Client, sb: SandboxServer) -> None:
    token = anon.post("/oauth2/token", json=token_request()).json()["access_token"]
    real_clock = sb.sandbox.clock
    sb.sandbox.clock = lambda: real_clock() + 14401
    try:
        answer = anon.get(
            "/inbox/v2/messages", params={"conversationId": DEMO_SITE_ID}, headers={"Authorization": token}
        )
    finally:
        sb.sandbox.clock = real_clock
    assert answer.status_code == 401
    assert "expired" in answer.json()["message"]


def test_sites_cannot_see_each_other(wix: httpx2.Client, anon: httpx2.Client, admin: httpx2.Client) -> None:
    admin.post(
        "/seed", json={"sites": [{"siteId": OTHER_SITE, "name": "Other", "apiKeys": [OTHER_KEY]}]}
    ).raise_for_status()
    other = {"Authorization": OTHER_KEY, "wix-site-id": OTHER_SITE}
    contact_id = create_contact(wix, "private@example.com")
    conversation_id = open_conversation(wix, contact_id)
    found = anon.post(
        "/contacts/v4/contacts/query",
        json={"query": {"filter": {"info.emails.email": "private@example.com"}}},
        headers=other,
    )
    assert found.json()["contacts"] == []
    assert anon.get(f"/contacts/v4/contacts/{contact_id}", headers=other).status_code == 404
    got = anon.get(f"/inbox/v2/conversations/{conversation_id}", headers=other)
    assert got.status_code == 403
    assert application_error(got)["code"] == "NOT_OWNED_BY_BUSINESS"
    sent = anon.post("/inbox/v2/messages", json=text_message(conversation_id, "intruder"), headers=other)
    assert application_error(sent)["code"] == "CONVERSATION_NOT_FOUND"
    listed = anon.get("/inbox/v2/messages", params={"conversationId": conversation_id}, headers=other)
    assert application_error(listed)["code"] == "CONVERSATION_NOT_FOUND"
    assert (
        anon.post(
            "/inbox/v2/conversations", json={"participantId": {"contactId": contact_id}}, headers=other
        ).status_code
        == 404
    )
