"""The flow from a user's own async code, against the sandbox over HTTP."""

from __future__ import annotations

import httpx2

from inboxbridge import InboxBridge
from inboxbridge.config import DeliverySettings
from inboxbridge.sandbox import DEMO_API_KEY, DEMO_SITE_ID, SandboxServer, default_config
from inboxbridge.wix import ApiKeyAuth


async def test_post_message_and_activity_into_one_conversation() -> None:
    with SandboxServer(default_config()) as sandbox:
        auth = ApiKeyAuth(api_key=DEMO_API_KEY, site_id=DEMO_SITE_ID)
        async with InboxBridge(auth, base_url=sandbox.url, delivery=DeliverySettings(badge_text="SMS")) as bridge:
            first = await bridge.post_message("lib@example.com", "Is my order ready?", first_name="Lia")
            second = await bridge.post_message("lib@example.com", "Yes!", direction="outbound")
            third = await bridge.post_activity("lib@example.com", "Payment received", url="https://pay.example.com/1")
        assert first[0].conversation_id == second[0].conversation_id == third[0].conversation_id
        inbox = httpx2.get(f"{sandbox.url}/_sandbox/sites/{DEMO_SITE_ID}/conversations").json()
        (conversation,) = inbox["conversations"]
        messages = conversation["messages"]
        assert [m["direction"] for m in messages] == [
            "PARTICIPANT_TO_BUSINESS",
            "BUSINESS_TO_PARTICIPANT",
            "PARTICIPANT_TO_BUSINESS",
        ]
        assert messages[0]["content"]["basic"]["items"] == [{"text": "Is my order ready?"}]
        assert messages[0]["badges"][0]["text"] == "SMS"
        assert messages[2]["content"]["minimal"]["text"] == "Payment received"
        requests = httpx2.get(f"{sandbox.url}/_sandbox/requests").json()["requests"]
        # Two queries (primary email, then any email), create, conversation, send; then a send each: ids are cached.
        assert [r["path"].rsplit("/", 1)[-1] for r in requests] == [
            "query",
            "query",
            "contacts",
            "conversations",
            "messages",
            "messages",
            "messages",
        ]
