"""Nothing lost, nothing posted twice: a killed service, and a send whose answer never came."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

import httpx2
import pytest

from inboxbridge.sandbox import SandboxServer

from .harness import (
    Inbox,
    ServiceProcess,
    chat,
    free_port,
    sign,
    site_id,
    stamp,
    texts,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.slow


def start_service(shop_sandbox: SandboxServer, work: Path, **options: float) -> ServiceProcess:
    port = free_port()
    config = write_config(
        work / "inboxbridge.toml", shop_sandbox.url, {"shop": {}}, port=port, database=work / "ib.db", **options
    )
    return ServiceProcess(config, port, work / "service.log").start()


async def post_all(url: str, bodies: list[bytes]) -> list[int]:
    limit = asyncio.Semaphore(16)

    async def one(client: httpx2.AsyncClient, body: bytes) -> int:
        async with limit:
            answer = await client.post(
                f"{url}/hooks/shop/chat",
                content=body,
                headers={"x-signature": sign(body), "content-type": "application/json"},
            )
            return answer.status_code

    async with httpx2.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*(one(client, b) for b in bodies))


def test_sigkill_mid_stream_loses_and_duplicates_nothing(shop_sandbox: SandboxServer, tmp_path: Path) -> None:
    customers, per_customer = 20, 25
    emails = [f"crash{c}@example.com" for c in range(customers)]
    bodies = [
        chat(f"e{c}-{i}", emails[c], f"c{c} m{i}", at=stamp(i)) for i in range(per_customer) for c in range(customers)
    ]
    total = len(bodies)
    box = Inbox(shop_sandbox.url, site_id(0))
    # About 100 Wix calls a second: slow enough that the kill lands mid-stream.
    service = start_service(shop_sandbox, tmp_path, requests_per_minute=6000, lease_seconds=3)
    assert set(asyncio.run(post_all(service.url, bodies))) == {202}
    wait_until(lambda: len(box.all_messages()) >= total // 4, what="a quarter of the stream", timeout=60)
    service.kill()
    landed_before_restart = len(box.all_messages())
    assert landed_before_restart < total, "the kill came too late to test anything"

    service.start()
    wait_until(lambda: len(box.all_messages()) >= total, what="the whole stream", timeout=120)
    with sqlite3.connect(tmp_path / "ib.db") as db:
        wait_until(
            lambda: db.execute("SELECT count(*) FROM events WHERE status = 'delivered'").fetchone() == (total,),
            what="every event acknowledged",
            timeout=30,
        )
    service.stop()

    by_customer: dict[str, list[str]] = defaultdict(list)
    for message in box.all_messages():
        customer, _, _ = texts(message).partition(" ")
        by_customer[customer].append(texts(message))
    assert len(box.all_messages()) == total, "duplicates or losses"
    for c in range(customers):
        assert by_customer[f"c{c}"] == [f"c{c} m{i}" for i in range(per_customer)], f"customer {c} out of order"
    overlaps = httpx2.get(f"{shop_sandbox.url}/_sandbox/overlaps").json()["overlaps"]
    assert overlaps == [], "two sends into one conversation were in flight at once"


def test_send_that_timed_out_after_wix_stored_it_is_not_posted_again(
    shop_sandbox: SandboxServer, tmp_path: Path
) -> None:
    box = Inbox(shop_sandbox.url, site_id(0))
    service = start_service(shop_sandbox, tmp_path, timeout=0.5)
    email = "slow@example.com"
    assert service.post("shop", "chat", chat("warm", email, "warm-up", at=stamp(0))).status_code == 202
    wait_until(lambda: len(box.all_messages()) == 1, what="the warm-up message")
    faults = {"slowThenSucceed": {"probability": 1.0, "delayMs": 1500}, "pathPrefix": "/inbox/v2/messages"}
    assert httpx2.put(f"{shop_sandbox.url}/_sandbox/faults", json=faults).status_code == 200
    answer = service.post("shop", "chat", chat("slow-1", email, "did this arrive?", at=stamp(1)))
    event_id = answer.json()["eventIds"][0]
    db = sqlite3.connect(tmp_path / "ib.db")

    def tries() -> list[str]:
        return [r[0] for r in db.execute("SELECT outcome FROM attempts WHERE event_id = ? ORDER BY id", (event_id,))]

    wait_until(
        lambda: len(box.all_messages()) == 2 and "retry" in tries(), what="a stored message whose send timed out"
    )
    assert httpx2.delete(f"{shop_sandbox.url}/_sandbox/faults").status_code == 200
    wait_until(lambda: tries()[-1:] == ["already_delivered"], what="the retry to find the message", timeout=30)
    service.stop()
    db.close()
    assert [texts(m) for m in box.all_messages()] == ["warm-up", "did this arrive?"]


@pytest.mark.parametrize(
    ("slow_path", "send_began", "handed_back_as"),
    [("/inbox/v2/messages", True, "unknown"), ("/contacts/v4/contacts/query", False, "none")],
    ids=["during-the-send", "before-the-send"],
)
def test_sigterm_hands_back_a_delivery_cut_short_and_it_lands_once(
    shop_sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slow_path: str,
    send_began: bool,
    handed_back_as: str,
) -> None:
    box = Inbox(shop_sandbox.url, site_id(0))
    monkeypatch.setenv("INBOXBRIDGE_WORKER__SHUTDOWN_GRACE_SECONDS", "0.3")
    service = start_service(shop_sandbox, tmp_path, timeout=10)
    slow = {"latencyMs": 3000, "pathPrefix": slow_path}
    assert httpx2.put(f"{shop_sandbox.url}/_sandbox/faults", json=slow).status_code == 200
    event_id = service.post("shop", "chat", chat("term-1", "term@example.com", "mid-flight", at=stamp(0))).json()[
        "eventIds"
    ][0]
    db = sqlite3.connect(tmp_path / "ib.db")

    def state() -> tuple[str, str]:
        return db.execute("SELECT status, send_state FROM events WHERE id = ?", (event_id,)).fetchone()

    # The claim marks the event as possibly being sent; the send itself follows the conversation's lookup.
    wait_until(lambda: state() == ("in_flight", "unknown"), what="the event to be claimed")
    if send_began:
        wait_until(
            lambda: any(r["path"] == "/inbox/v2/conversations" for r in box.requests()), what="the conversation lookup"
        )
        time.sleep(0.5)
    service.stop()
    # Handed back, not left leased: another worker may take it at once. After a send that may have reached Wix it
    # must check before sending again; stopped while looking the contact up, the event was certainly not sent.
    assert state() == ("pending", handed_back_as)
    assert httpx2.delete(f"{shop_sandbox.url}/_sandbox/faults").status_code == 200
    service.start()
    wait_until(lambda: state()[0] == "delivered", what="delivery after the restart", timeout=30)
    service.stop()
    db.close()
    assert [texts(m) for m in box.all_messages()] == ["mid-flight"]
    looked = [r for r in box.requests() if r["method"] == "GET" and r["path"] == "/inbox/v2/messages"]
    assert bool(looked) == send_began


def test_a_send_slower_than_the_lease_keeps_its_lease_and_is_sent_once(
    shop_sandbox: SandboxServer, tmp_path: Path
) -> None:
    box = Inbox(shop_sandbox.url, site_id(0))
    service = start_service(shop_sandbox, tmp_path, lease_seconds=1.5, timeout=10)
    slow = {"latencyMs": 4000, "pathPrefix": "/inbox/v2/messages"}
    assert httpx2.put(f"{shop_sandbox.url}/_sandbox/faults", json=slow).status_code == 200
    try:
        service.post("shop", "chat", chat("slow-1", "slow@example.com", "worth the wait", at=stamp(0)))
        wait_until(lambda: len(box.all_messages()) == 1, what="the slow send to land", timeout=30)
        # Twice the lease and more: had the lease not been renewed, the event would have been claimed and sent again.
        time.sleep(2)
    finally:
        assert httpx2.delete(f"{shop_sandbox.url}/_sandbox/faults").status_code == 200
        service.stop()
    assert [texts(m) for m in box.all_messages()] == ["worth the wait"]
    calls = [(r["method"], r["path"]) for r in box.requests() if r["path"] == "/inbox/v2/messages"]
    # One send, and no second try that had to look for it (a lost lease would have meant one).
    assert calls == [("POST", "/inbox/v2/messages")]
    with sqlite3.connect(tmp_path / "ib.db") as db:
        assert db.execute("SELECT outcome FROM attempts").fetchall() == [("delivered",)]
