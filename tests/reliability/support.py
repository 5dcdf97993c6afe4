"""Shared pieces of the chaos suites: a service process with chosen retry settings, a steady stream of signed
webhooks that retries like a provider, and the tally of what reached the sandbox's Inbox."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from e2e.harness import Inbox, ServiceProcess, chat, free_port, sign, stamp, texts, wait_until, write_config

__all__ = ["CREATED", "Stream", "Tally", "outcome", "service_process", "tally", "wait_all_delivered"]

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def outcome(answer: httpx2.Response) -> dict[str, Any]:
    """A webhook's answer as the server's JSON object. Twilio sources answer a 2xx with empty TwiML instead (what
    Twilio expects); each Twilio webhook carries one event, so its status says the rest: 202 stored, 200 not."""
    if answer.headers.get("content-type", "").startswith("text/xml"):
        assert answer.text == EMPTY_TWIML and answer.status_code in (200, 202), answer.text
        stored = answer.status_code == 202
        return {"accepted": int(stored), "duplicates": int(not stored)}
    reply: dict[str, Any] = answer.json()
    return reply

CREATED: list[ServiceProcess] = []
"""Every service process made here; the suite's conftest kills those still running after each test."""


def service_process(
    sandbox_url: str,
    work: Path,
    *,
    tenants: dict[str, dict[str, Any]] | None = None,
    database: str | None = None,
    timeout: float = 5,
    lease_seconds: float = 10,
    base_seconds: float = 0.2,
    max_delay_seconds: float = 1,
    give_up_after_seconds: float = 86400,
    settle_seconds: float | None = None,
) -> ServiceProcess:
    """A service process (not started) for the sandbox's tenants, with the retry schedule (and the settle time
    after an unknown send outcome) given."""
    port = free_port()
    config = write_config(
        work / "inboxbridge.toml",
        sandbox_url,
        tenants or {"shop": {}},
        port=port,
        database=work / "ib.db",
        timeout=timeout,
        lease_seconds=lease_seconds,
    )
    text = config.read_text().replace(
        "base_seconds = 0.2\nmax_delay_seconds = 1\n",
        f"base_seconds = {base_seconds}\nmax_delay_seconds = {max_delay_seconds}\n"
        f"give_up_after_seconds = {give_up_after_seconds}\n",
    )
    if settle_seconds is not None:
        text = text.replace("[worker]\n", f"[worker]\nsettle_seconds = {settle_seconds}\n", 1)
    if database is not None:
        text = f'database_url = "{database}"\n' + text.split("\n", 1)[1]
    config.write_text(text)
    service = ServiceProcess(config, port, work / "service.log")
    CREATED.append(service)
    return service


@dataclass
class Stream:
    """Customers each posting their next chat message once the previous one is accepted, retrying (after a pause)
    any answer that is not 2xx and any broken connection, as providers do, until :meth:`stop`.

    ``accepted[c]`` lists the texts customer ``c`` got accepted, in order; ``statuses`` counts every answer.
    """

    url: str
    customers: int
    pause: float = 0.02
    tenant: str = "shop"
    limit: int | None = None
    prefix: str = "c"
    accepted: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    broken: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Stream:
        """Start posting in a background thread."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="stream", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Let every customer finish the message under way, then return."""
        self._stop.set()
        self.wait()

    def wait(self) -> None:
        """Until every customer is done (their ``limit`` reached, or stopped)."""
        assert self._thread is not None
        self._thread.join(timeout=120)
        assert not self._thread.is_alive(), "the stream did not finish"

    @property
    def by_customer(self) -> dict[str, list[str]]:
        """The accepted texts by customer name (the first word of each text)."""
        return {f"{self.prefix}{c}": texts for c, texts in self.accepted.items()}

    @property
    def total(self) -> int:
        """Messages accepted so far."""
        return sum(len(v) for v in self.accepted.values())

    async def _run(self) -> None:
        async with httpx2.AsyncClient(timeout=10) as client:
            await asyncio.gather(*(self._customer(client, c) for c in range(self.customers)))

    async def _customer(self, client: httpx2.AsyncClient, c: int) -> None:
        i = 0
        while not self._stop.is_set() and (self.limit is None or i < self.limit):
            text = f"{self.prefix}{c} m{i}"
            body = chat(f"{self.prefix}{c}-{i}", f"{self.prefix}{c}@example.com", text, at=stamp(i))
            while True:
                try:
                    answer = await client.post(
                        f"{self.url}/hooks/{self.tenant}/chat",
                        content=body,
                        headers={"x-signature": sign(body), "content-type": "application/json"},
                    )
                except httpx2.TransportError:
                    self.broken += 1
                    await asyncio.sleep(0.1)
                    continue
                self.statuses[answer.status_code] += 1
                if answer.status_code in (200, 202):
                    break
                assert answer.status_code >= 500, f"{text}: {answer.status_code} {answer.text}"
                await asyncio.sleep(0.1)
            self.accepted[c].append(text)
            i += 1
            await asyncio.sleep(self.pause)


@dataclass(frozen=True)
class Tally:
    """What the Inbox holds against what was accepted."""

    expected: int
    landed: int
    lost: int
    duplicated: int
    out_of_order: int
    overlaps: int

    def assert_clean(self) -> None:
        """Nothing lost, nothing twice, every customer's messages in the order accepted, no concurrent sends."""
        assert (self.lost, self.duplicated, self.out_of_order, self.overlaps) == (0, 0, 0, 0), self


def tally(sandbox_url: str, site: str, accepted: dict[str, list[str]]) -> Tally:
    """Compare the site's Inbox with ``accepted`` (customer prefix → texts in accepted order)."""
    box = Inbox(sandbox_url, site)
    by_customer: dict[str, list[str]] = defaultdict(list)
    for conversation in box.conversations():
        for message in conversation["messages"]:
            text = texts(message)
            by_customer[text.partition(" ")[0]].append(text)
    lost = duplicated = out_of_order = 0
    for customer, want in accepted.items():
        got = by_customer.get(customer, [])
        counts = Counter(got)
        lost += sum(1 for text in want if counts[text] == 0)
        duplicated += sum(n - 1 for n in counts.values() if n > 1)
        first_seen = list(dict.fromkeys(got))
        order = {text: i for i, text in enumerate(want)}
        ranks = [order[text] for text in first_seen if text in order]
        out_of_order += sum(1 for a, b in itertools.pairwise(ranks) if a > b)
    unexpected = sum(len(v) for k, v in by_customer.items() if k not in accepted)
    overlaps = len(httpx2.get(f"{sandbox_url}/_sandbox/overlaps", timeout=10).json()["overlaps"])
    expected = sum(len(v) for v in accepted.values())
    landed = sum(len(v) for v in by_customer.values())
    return Tally(expected, landed, lost, duplicated + unexpected, out_of_order, overlaps)


def wait_all_delivered(database: Path, total: int, *, timeout: float = 120) -> None:
    """Until the SQLite store holds ``total`` events, every one delivered."""
    with sqlite3.connect(database) as db:
        wait_until(
            lambda: db.execute("SELECT count(*), total(status = 'delivered') FROM events").fetchone() == (total, total),
            what=f"{total} events delivered",
            timeout=timeout,
        )
