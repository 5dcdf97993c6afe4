"""The whole flow over real HTTP: webhook → service → Wix sandbox Inbox."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import orjson
import pytest

from inboxbridge.sandbox import SandboxServer

from .conftest import inbox
from .harness import ServiceProcess, chat, sign, stamp, texts, wait_until


def unique_email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def contact_for(box, email: str) -> dict:  # type: ignore[no-untyped-def]
    found = [c for c in box.contacts() if email in [e["email"] for e in c["info"]["emails"]["items"]]]
    assert found, f"no contact with {email}"
    return found[0]


def test_chat_in_both_directions_lands_as_basic_messages_in_order(
    service: ServiceProcess, sandbox: SandboxServer
) -> None:
    email = unique_email("chat")
    lines = [("customer", "Hi, is the blue jacket in stock?"), ("agent", "It is! Size M?"), ("customer", "Yes, M.")]
    for i, (author, text) in enumerate(lines):
        answer = service.post("shop", "chat", chat(f"{email}-{i}", email, text, author=author, at=stamp(i)))
        assert answer.status_code == 202, answer.text
    box = inbox(sandbox, "shop")
    wait_until(lambda: len(box.messages_of(contact_for(box, email)["id"])) == 3, what="3 messages")
    messages = box.messages_of(contact_for(box, email)["id"])
    assert [texts(m) for m in messages] == [text for _, text in lines]
    assert [m["direction"] for m in messages] == [
        "PARTICIPANT_TO_BUSINESS",
        "BUSINESS_TO_PARTICIPANT",
        "PARTICIPANT_TO_BUSINESS",
    ]
    assert all(m["visibility"] == "BUSINESS" for m in messages)
    assert all(m["badges"][0]["text"] == "Chat" for m in messages)
    assert all("basic" in m["content"] for m in messages)


def test_activity_lands_as_minimal_message(service: ServiceProcess, sandbox: SandboxServer) -> None:
    email = unique_email("booking")
    body = orjson.dumps(
        {
            "id": f"b-{email}",
            "at": stamp(1),
            "email": email,
            "line": "Booking made: Fri 10:00",
            "url": "https://bookings.example.com/b/1",
        }
    )
    assert service.post("shop", "bookings", body).status_code == 202
    box = inbox(sandbox, "shop")
    wait_until(
        lambda: (
            any(email in [e["email"] for e in c["info"]["emails"]["items"]] for c in box.contacts())
            and len(box.messages_of(contact_for(box, email)["id"])) == 1
        ),
        what="the activity",
    )
    (message,) = box.messages_of(contact_for(box, email)["id"])
    assert message["content"]["minimal"] == {
        "text": "Booking made: Fri 10:00",
        "url": "https://bookings.example.com/b/1",
        "iconUrl": "https://example.com/calendar.png",
    }
    assert message["direction"] == "PARTICIPANT_TO_BUSINESS"


def seed_two_contacts(sandbox: SandboxServer, tenant: str, email: str) -> tuple[str, str]:
    """An older contact with ``email`` as primary, a newer one with it as a second address."""
    box = inbox(sandbox, tenant)
    older = {
        "info": {"emails": {"items": [{"tag": "MAIN", "email": email}]}},
        "createdDate": "2024-01-01T00:00:00.000Z",
    }
    newer = {
        "info": {"emails": {"items": [{"tag": "MAIN", "email": f"work-{email}"}, {"tag": "HOME", "email": email}]}},
        "createdDate": "2025-06-01T00:00:00.000Z",
    }
    answer = httpx2.post(
        f"{sandbox.url}/_sandbox/seed",
        json={"sites": [{"siteId": box.site, "apiKeys": [f"key-{tenant}"], "contacts": [older, newer]}]},
    )
    assert answer.status_code == 200, answer.text
    created = answer.json()["contacts"]
    return created[0]["id"], created[1]["id"]


def test_email_shared_by_two_contacts_follows_each_policy(service: ServiceProcess, sandbox: SandboxServer) -> None:
    expected = {"shop": "older", "oldest": "older", "newest": "newer", "everyone": "both"}
    seeded = {}
    for tenant in expected:
        email = unique_email(f"dup-{tenant}")
        seeded[tenant] = (email, *seed_two_contacts(sandbox, tenant, email))
        assert service.post(tenant, "chat", chat(f"dup-{email}", email, f"hello {tenant}")).status_code == 202
    for tenant, want in expected.items():
        email, older, newer = seeded[tenant]
        box = inbox(sandbox, tenant)
        targets = {"older": [older], "newer": [newer], "both": [older, newer]}[want]
        wait_until(
            lambda box=box, targets=targets: all(len(box.messages_of(c)) == 1 for c in targets),
            what=f"{tenant}'s delivery",
        )
        others = {older, newer} - set(targets)
        assert all(box.messages_of(c) == [] for c in others), tenant
        assert all(texts(box.messages_of(c)[0]) == f"hello {tenant}" for c in targets)


def test_unknown_email_creates_the_contact(service: ServiceProcess, sandbox: SandboxServer) -> None:
    email = unique_email("new")
    assert service.post("shop", "chat", chat(f"n-{email}", email, "first time here")).status_code == 202
    box = inbox(sandbox, "shop")
    wait_until(
        lambda: any(email in [e["email"] for e in c["info"]["emails"]["items"]] for c in box.contacts()),
        what="the new contact",
    )
    contact = contact_for(box, email)
    assert contact["info"]["name"] == {"first": "Test", "last": "Person"}
    wait_until(lambda: len(box.messages_of(contact["id"])) == 1, what="the message")


def test_unknown_email_is_dead_lettered_under_skip(
    service: ServiceProcess, sandbox: SandboxServer, database: Path
) -> None:
    email = unique_email("skip")
    answer = service.post("strict", "chat", chat(f"s-{email}", email, "anyone there?"))
    assert answer.status_code == 202
    (event_id,) = answer.json()["eventIds"]

    def row() -> tuple[str, str | None]:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT status, last_error FROM events WHERE id = ?", (event_id,)).fetchone()

    wait_until(lambda: row()[0] == "dead", what="the dead letter")
    assert "no Wix contact has the email" in (row()[1] or "")
    assert "skip" in (row()[1] or "")
    assert not any(email in str(c) for c in inbox(sandbox, "strict").contacts())


def test_repeated_webhook_posts_once(service: ServiceProcess, sandbox: SandboxServer) -> None:
    email = unique_email("again")
    body = chat(f"r-{email}", email, "only once please")
    first = service.post("shop", "chat", body)
    assert first.status_code == 202
    assert first.json()["accepted"] == 1

    async def burst() -> list[int]:
        async with httpx2.AsyncClient() as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"{service.url}/hooks/shop/chat",
                        content=body,
                        headers={"x-signature": sign(body), "content-type": "application/json"},
                    )
                    for _ in range(5)
                )
            )
        return [a.status_code for a in answers]

    assert asyncio.run(burst()) == [200] * 5
    box = inbox(sandbox, "shop")
    wait_until(lambda: any(email in str(c) for c in box.contacts()), what="the contact")
    wait_until(lambda: len(box.messages_of(contact_for(box, email)["id"])) >= 1, what="the message")
    assert [texts(m) for m in box.messages_of(contact_for(box, email)["id"])] == ["only once please"]


def test_forged_signature_is_refused_and_nothing_stored(service: ServiceProcess, database: Path) -> None:
    email = unique_email("forged")
    body = chat(f"f-{email}", email, "trust me")
    for signature in ("0" * 64, "", sign(body, "wrong-secret")):
        answer = service.post("shop", "chat", body, signature=signature)
        assert answer.status_code == 401
        assert "signature" in answer.json()["error"]
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM events WHERE payload LIKE ?", (f"%{email}%",)).fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM quarantine WHERE body LIKE ?", (f"%{email}%",)).fetchone() == (0,)


def test_malformed_body_is_400_and_quarantined(service: ServiceProcess, database: Path) -> None:
    body = b'{"id": "broken", "customer": {"email": '
    answer = service.post("shop", "chat", body)
    assert answer.status_code == 400
    reason = answer.json()["error"]
    assert "JSON" in reason
    quarantine_id = answer.json()["quarantineId"]
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT reason, body FROM quarantine WHERE id = ?", (quarantine_id,)).fetchone()
    assert stored[0] == reason
    assert bytes(stored[1]) == body


def test_missing_customer_is_400_with_reason(service: ServiceProcess) -> None:
    body = orjson.dumps({"id": "nobody", "at": stamp(0), "text": "who am I?", "author": "customer"})
    answer = service.post("shop", "chat", body)
    assert answer.status_code == 400
    assert "email" in answer.json()["error"]


def test_unknown_tenant_or_source_is_404(service: ServiceProcess) -> None:
    body = chat("x", "a@example.com", "hi")
    assert service.post("nobody", "chat", body).status_code == 404
    assert service.post("shop", "fax", body).status_code == 404


def test_body_over_the_limit_is_413(service: ServiceProcess) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert service.post("shop", "chat", body).status_code == 413


def test_steady_stream_for_known_customers_costs_one_call_per_message(
    service: ServiceProcess, sandbox: SandboxServer
) -> None:
    customers = [unique_email(f"steady{i}") for i in range(5)]
    box = inbox(sandbox, "shop")
    for email in customers:
        assert service.post("shop", "chat", chat(f"w-{email}", email, "warm-up", at=stamp(0))).status_code == 202
    wait_until(
        lambda: sum(len(box.messages_of(c["id"])) for c in box.contacts() if any(e in str(c) for e in customers)) == 5,
        what="warm-up",
    )
    before = len(box.requests())
    per_customer = 20
    for i in range(1, per_customer + 1):
        for email in customers:
            assert service.post("shop", "chat", chat(f"s{i}-{email}", email, f"m{i}", at=stamp(i))).status_code == 202
    total = per_customer * len(customers)
    ids = [contact_for(box, e)["id"] for e in customers]
    wait_until(lambda: sum(len(box.messages_of(c)) for c in ids) == total + 5, what="the stream", timeout=60)
    calls = len(box.requests()) - before
    assert calls / total <= 1.05, f"{calls} Wix calls for {total} messages"
    for contact_id in ids:
        assert [texts(m) for m in box.messages_of(contact_id)] == [
            "warm-up",
            *(f"m{i}" for i in range(1, per_customer + 1)),
        ]


@pytest.fixture
def merged_send(request: pytest.FixtureRequest, sandbox: SandboxServer) -> Iterator[str]:
    """The sandbox's answer to a send into a merged-away conversation, for one test."""
    mode: str = request.param
    assert httpx2.put(f"{sandbox.url}/_sandbox/faults", json={"mergedSend": mode}).status_code == 200
    yield mode
    assert httpx2.delete(f"{sandbox.url}/_sandbox/faults").status_code == 200


@pytest.mark.parametrize("merged_send", ["CONVERSATION_NOT_FOUND", "NOT_FOUND", "ACCEPTED"], indirect=True)
def test_conversation_merged_mid_stream_loses_nothing(
    service: ServiceProcess, sandbox: SandboxServer, merged_send: str
) -> None:
    """Whatever a send into the merged-away conversation gets (the 404 with its code that the sandbox answers by
    default, a bare 404 as Send Message documents no such code, or a silent success), every message lands once."""
    email = unique_email(f"merge-{merged_send.lower()}")
    box = inbox(sandbox, "shop")
    for i in range(3):
        assert service.post("shop", "chat", chat(f"m{i}-{email}", email, f"before {i}", at=stamp(i))).status_code == 202
    wait_until(
        lambda: (
            any(email in str(c) for c in box.contacts()) and len(box.messages_of(contact_for(box, email)["id"])) == 3
        ),
        what="the first messages",
    )
    contact_id = contact_for(box, email)["id"]
    old_conversation = next(c["id"] for c in box.conversations() if c["participant"].get("contactId") == contact_id)
    answer = httpx2.post(f"{sandbox.url}/_sandbox/contacts/{contact_id}/become-member")
    assert answer.status_code == 200, answer.text
    for i in range(3, 8):
        assert service.post("shop", "chat", chat(f"m{i}-{email}", email, f"after {i}", at=stamp(i))).status_code == 202

    def merged_conversation() -> dict | None:  # type: ignore[type-arg]
        return next((c for c in box.conversations() if old_conversation in c.get("mergedFrom", [])), None)

    wait_until(lambda: (c := merged_conversation()) is not None and len(c["messages"]) == 8, what="all 8 messages")
    conversation = merged_conversation()
    assert conversation is not None
    assert [texts(m) for m in conversation["messages"]] == [f"before {i}" for i in range(3)] + [
        f"after {i}" for i in range(3, 8)
    ]


def test_wix_faults_are_retried_until_everything_lands_once_in_order(
    service: ServiceProcess, sandbox: SandboxServer
) -> None:
    customers = [unique_email(f"faulty{i}") for i in range(4)]
    per_customer = 10
    faults = {"errorRates": {"500": 0.1, "503": 0.1, "429": 0.1}, "seed": 7}
    assert httpx2.put(f"{sandbox.url}/_sandbox/faults", json=faults).status_code == 200
    try:
        for i in range(per_customer):
            for email in customers:
                body = chat(f"f{i}-{email}", email, f"n{i}", at=stamp(i))
                assert service.post("shop", "chat", body).status_code == 202
        box = inbox(sandbox, "shop")

        def landed() -> int:
            mine = [c for c in box.contacts() if any(e in str(c) for e in customers)]
            return sum(len(box.messages_of(c["id"])) for c in mine)

        wait_until(lambda: landed() >= per_customer * len(customers), what="every message", timeout=90)
        statuses = {r["status"] for r in box.requests()}
        assert {500, 503, 429} <= statuses, "the faults were not injected"
    finally:
        httpx2.delete(f"{sandbox.url}/_sandbox/faults")
    for email in customers:
        assert [texts(m) for m in box.messages_of(contact_for(box, email)["id"])] == [
            f"n{i}" for i in range(per_customer)
        ]


def test_error_retrying_cannot_fix_is_dead_lettered_with_wix_words(service: ServiceProcess, database: Path) -> None:
    answer = service.post("revoked", "chat", chat("rv-1", unique_email("revoked"), "hello?"))
    assert answer.status_code == 202
    (event_id,) = answer.json()["eventIds"]

    def row() -> tuple[str, str | None, int]:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT status, last_error, attempts FROM events WHERE id = ?", (event_id,)).fetchone()

    wait_until(lambda: row()[0] == "dead", what="the dead letter")
    _, error, attempts = row()
    assert attempts == 1
    assert error is not None and "Wix 401" in error
    with sqlite3.connect(database) as db:
        (wix_status, wix_code) = db.execute(
            "SELECT wix_status, wix_code FROM attempts WHERE event_id = ?", (event_id,)
        ).fetchone()
    assert wix_status == 401
    assert wix_code


def test_strict_mode_asks_for_the_conversation_before_every_send(
    service: ServiceProcess, sandbox: SandboxServer
) -> None:
    email = unique_email("cautious")
    box = inbox(sandbox, "cautious")
    for i in range(3):
        assert service.post("cautious", "chat", chat(f"c{i}-{email}", email, f"s{i}", at=stamp(i))).status_code == 202
    wait_until(lambda: any(email in str(c) for c in box.contacts()) and len(box.all_messages()) == 3, what="3 messages")
    paths = [r["path"] for r in box.requests() if r["path"].startswith("/inbox/")]
    assert paths == ["/inbox/v2/conversations", "/inbox/v2/messages"] * 3
