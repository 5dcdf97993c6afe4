"""Rate limits and injected faults, as a client retrying against Wix would meet them."""

from __future__ import annotations

import httpx2
import pytest

from inboxbridge.sandbox import DEMO_SITE_ID

from .support import API_HEADERS, application_error, create_contact, open_conversation, text_message


def statuses(wix: httpx2.Client, n: int) -> list[int]:
    return [wix.post("/contacts/v4/contacts/query", json={"query": {}}).status_code for _ in range(n)]


def test_rate_limit_answers_429_past_the_limit_then_recovers(wix: httpx2.Client, admin: httpx2.Client) -> None:
    admin.put("/rate-limit", json={"requestsPerMinute": 5, "siteId": DEMO_SITE_ID}).raise_for_status()
    got = statuses(wix, 6)
    assert got == [200] * 5 + [429]
    throttled = wix.post("/contacts/v4/contacts/query", json={"query": {}})
    assert application_error(throttled)["code"] == "TOO_MANY_REQUESTS"
    admin.put("/rate-limit", json={"requestsPerMinute": 200, "siteId": None}).raise_for_status()
    assert statuses(wix, 3) == [200] * 3


def test_rate_limit_is_per_site(wix: httpx2.Client, anon: httpx2.Client, admin: httpx2.Client) -> None:
    other_site = "3c0f2e1d-5b4a-4c69-9e87-0d1f2a3b4c5d"
    admin.post("/seed", json={"sites": [{"siteId": other_site, "apiKeys": ["IST.k2"]}]}).raise_for_status()
    admin.put("/rate-limit", json={"requestsPerMinute": 2}).raise_for_status()
    assert statuses(wix, 3) == [200, 200, 429]
    other = anon.post(
        "/contacts/v4/contacts/query",
        json={"query": {}},
        headers={"Authorization": "IST.k2", "wix-site-id": other_site},
    )
    assert other.status_code == 200


def test_seeded_faults_repeat_exactly(wix: httpx2.Client, admin: httpx2.Client) -> None:
    faults = {"errorRates": {"500": 0.3, "503": 0.3, "429": 0.2}, "seed": 7}
    admin.put("/faults", json=faults).raise_for_status()
    first = statuses(wix, 20)
    admin.put("/faults", json=faults).raise_for_status()
    second = statuses(wix, 20)
    assert first == second
    assert {500, 503, 429, 200} <= set(first)
    admin.delete("/faults").raise_for_status()
    assert statuses(wix, 5) == [200] * 5


def test_fault_bodies_and_retry_after(wix: httpx2.Client, admin: httpx2.Client) -> None:
    admin.put("/faults", json={"errorRates": {"503": 1.0}, "retryAfter": 2}).raise_for_status()
    answer = wix.post("/contacts/v4/contacts/query", json={"query": {}})
    assert answer.status_code == 503
    assert answer.content == b""
    assert answer.headers["retry-after"] == "2"
    assert answer.headers["x-wix-request-id"]
    admin.put("/faults", json={"errorRates": {"429": 1.0}}).raise_for_status()
    assert application_error(wix.post("/contacts/v4/contacts/query", json={"query": {}}))["code"] == "TOO_MANY_REQUESTS"


def test_faults_can_target_a_path(wix: httpx2.Client, admin: httpx2.Client) -> None:
    admin.put("/faults", json={"errorRates": {"500": 1.0}, "pathPrefix": "/inbox/"}).raise_for_status()
    contact_id = create_contact(wix, "target@example.com")
    answer = wix.post("/inbox/v2/conversations", json={"participantId": {"contactId": contact_id}})
    assert answer.status_code == 500


def test_invalid_faults_are_refused(admin: httpx2.Client) -> None:
    assert admin.put("/faults", json={"errorRates": {"404": 0.5}}).status_code == 400
    assert admin.put("/faults", json={"errorRates": {"500": 0.7, "503": 0.7}}).status_code == 400


def test_slow_then_succeed_stores_the_message_before_the_client_gives_up(
    sb: object, wix: httpx2.Client, admin: httpx2.Client
) -> None:
    conversation_id = open_conversation(wix, create_contact(wix, "slow@example.com"))
    admin.put(
        "/faults",
        json={"slowThenSucceed": {"probability": 1.0, "delayMs": 400}, "pathPrefix": "/inbox/v2/messages"},
    ).raise_for_status()
    with pytest.raises(httpx2.ReadTimeout):
        wix.post("/inbox/v2/messages", json=text_message(conversation_id, "did it land?"), timeout=0.1)
    admin.delete("/faults").raise_for_status()
    listed = wix.get("/inbox/v2/messages", params={"conversationId": conversation_id, "visibility": "BUSINESS"})
    assert [m["content"]["basic"]["items"][0]["text"] for m in listed.json()["messages"]] == ["did it land?"]


def test_added_latency_still_answers(wix: httpx2.Client, admin: httpx2.Client) -> None:
    admin.put("/faults", json={"latencyMs": 20, "latencyJitterMs": 10, "seed": 1}).raise_for_status()
    assert wix.post("/contacts/v4/contacts/query", json={"query": {}}, headers=API_HEADERS).status_code == 200
