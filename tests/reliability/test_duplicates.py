"""Duplicates suite: every webhook delivered three times, two of the copies at once; one message each in the
Inbox. On one SQLite node, and on two PostgreSQL nodes with the copies spread over both."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2
import orjson
import pytest

from e2e.cluster import postgres_schema, start_nodes, stop_all
from e2e.harness import BOOKING_SECRET, Inbox, chat, sign, site_id, stamp, start_sandbox, texts, wait_until
from inboxbridge.sandbox import SandboxServer

from .report import Figure, Figures
from .support import service_process

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = start_sandbox(["shop"])
    yield server
    server.stop()


def webhooks(count: int) -> list[tuple[str, bytes, str]]:
    """(source, body, expected text): chat messages and booking activities of a few customers."""
    out = []
    for i in range(count):
        email = f"dup{i % 7}@example.com"
        if i % 3 == 2:
            body = orjson.dumps({"id": f"b{i}", "at": stamp(i), "email": email, "line": f"booking {i}"})
            out.append(("bookings", body, f"booking {i}"))
        else:
            out.append(("chat", chat(f"m{i}", email, f"message {i}", at=stamp(i)), f"message {i}"))
    return out


async def deliver_three_times(urls: list[str], hooks: list[tuple[str, bytes, str]], seed: int) -> Counter[int]:
    """Each webhook twice at once (to different nodes when there are several) and once more after both answered,
    the webhooks in a shuffled order, several in flight."""
    rng = random.Random(seed)
    order = list(hooks)
    rng.shuffle(order)
    statuses: Counter[int] = Counter()
    limit = asyncio.Semaphore(8)

    async def post(client: httpx2.AsyncClient, url: str, source: str, body: bytes) -> int:
        secret = BOOKING_SECRET if source == "bookings" else None
        signature = sign(body, secret) if secret else sign(body)
        answer = await client.post(
            f"{url}/hooks/shop/{source}",
            content=body,
            headers={"x-signature": signature, "content-type": "application/json"},
        )
        statuses[answer.status_code] += 1
        return answer.status_code

    async def three(client: httpx2.AsyncClient, n: int, source: str, body: bytes) -> list[int]:
        async with limit:
            first = urls[n % len(urls)]
            second = urls[(n + 1) % len(urls)]
            together = await asyncio.gather(post(client, first, source, body), post(client, second, source, body))
            later = await post(client, rng.choice(urls), source, body)
            return [*together, later]

    async with httpx2.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(three(client, n, s, b) for n, (s, b, _) in enumerate(order)))
    for codes in answers:
        # The provider is told "accepted" once and "already received" twice.
        assert sorted(codes) == [200, 200, 202], codes
    return statuses


def check_inbox(sandbox: SandboxServer, hooks: list[tuple[str, bytes, str]]) -> tuple[int, int]:
    box = Inbox(sandbox.url, site_id(0))
    wait_until(lambda: len(box.all_messages()) >= len(hooks), what="every webhook in the Inbox", timeout=60)
    landed = Counter(texts(m) for m in box.all_messages())
    lost = sum(1 for _, _, text in hooks if landed[text] == 0)
    duplicated = sum(n - 1 for n in landed.values() if n > 1)
    return lost, duplicated


def test_every_webhook_three_times_on_one_node(
    sandbox: SandboxServer, tmp_path: Path, chaos_long: bool, figures: Figures
) -> None:
    hooks = webhooks(300 if chaos_long else 60)
    service = service_process(sandbox.url, tmp_path).start()
    statuses = asyncio.run(deliver_three_times([service.url], hooks, seed=3))
    lost, duplicated = check_inbox(sandbox, hooks)
    service.stop()
    figures.record(
        Figure(
            "duplicates",
            "x3, one SQLite node",
            "every webhook posted three times: two copies at once, one after; chats and bookings shuffled",
            len(hooks),
            f"{2 * len(hooks)} repeated webhooks ({len(hooks)} concurrent pairs)",
            lost,
            duplicated,
            None,
            sum(n for s, n in statuses.items() if s >= 500),
            f"answers: {statuses[202]} x 202, {statuses[200]} x 200",
        )
    )
    assert (lost, duplicated) == (0, 0)


def test_every_webhook_three_times_across_two_postgres_nodes(
    sandbox: SandboxServer, tmp_path: Path, chaos_long: bool, figures: Figures
) -> None:
    hooks = webhooks(300 if chaos_long else 60)
    with postgres_schema() as url:
        nodes = start_nodes(2, sandbox.url, {"shop": {}}, url, tmp_path)
        try:
            statuses = asyncio.run(deliver_three_times([n.url for n in nodes], hooks, seed=4))
            lost, duplicated = check_inbox(sandbox, hooks)
        finally:
            stop_all(nodes)
    figures.record(
        Figure(
            "duplicates",
            "x3, two PostgreSQL nodes",
            "the same, the two simultaneous copies sent to different nodes sharing one PostgreSQL",
            len(hooks),
            f"{2 * len(hooks)} repeated webhooks ({len(hooks)} concurrent pairs across nodes)",
            lost,
            duplicated,
            None,
            sum(n for s, n in statuses.items() if s >= 500),
            f"answers: {statuses[202]} x 202, {statuses[200]} x 200",
        )
    )
    assert (lost, duplicated) == (0, 0)
