"""Security suite, HTTP attacks on a real server (127.0.0.1, the connection options of ``inboxbridge serve``):
huge admin request bodies sent without credentials, and connections held open by sending nothing, half the
headers or half the body. The app is wrapped to count every body byte it pulls from the server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import resource
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from inboxbridge.sandbox import SandboxConfig, SandboxServer, SiteConfig
from server.conftest import SITES, chat_body
from server.live import ADMIN, CHAT_SECRET, settings_for
from server.served import ServedApp, read_until_closed

from .report import Figure, Figures

DECLARED = 100 * 1024 * 1024
LIMIT = 1024 * 1024
PIECE = 64 * 1024
READ_SLACK = 512 * 1024
ROUTE = "/admin/api/dead-letters/replay"
AUTH = "Authorization: Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode() + "\r\n"
SLOW_EACH = 20
WEBHOOKS = 5


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    sites = [SiteConfig(site_id=site, name=name, api_keys=[f"key-{name}"]) for name, site in SITES.items()]
    with SandboxServer(SandboxConfig(sites=sites, requests_per_minute=1_000_000)) as server:
        yield server


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _post_until_answered(served: ServedApp, headers: str, *, chunked: bool) -> tuple[int, int]:
    """POST to the admin route, streaming up to ``DECLARED`` body bytes and stopping as soon as an answer comes;
    the answer's status and the body bytes sent until then."""
    sock = served.connect(f"POST {ROUTE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n".encode())
    sock.sendall(headers.encode() + b"\r\n")
    piece = b"x" * PIECE
    framed = b"%x\r\n" % PIECE + piece + b"\r\n" if chunked else piece
    sent = 0
    try:
        while sent < DECLARED and not select.select([sock], [], [], 0)[0]:
            sock.sendall(framed)
            sent += PIECE
        status = int(sock.recv(65536).split(b" ", 2)[1])
    finally:
        sock.close()
    return status, sent


def test_admin_bodies_are_refused_before_they_are_read(
    sandbox: SandboxServer, tmp_path: Path, figures: Figures
) -> None:
    settings = settings_for(sandbox.url, tmp_path / "ib.db", SITES, max_body_bytes=LIMIT, body_timeout_seconds=5)
    cases = [
        ("no credentials, Content-Length 100 MiB", f"Content-Length: {DECLARED}\r\n", False, 401),
        ("no credentials, chunked", "Transfer-Encoding: chunked\r\n", True, 401),
        ("admin credentials, Content-Length 100 MiB", f"{AUTH}Content-Length: {DECLARED}\r\n", False, 413),
        ("admin credentials, chunked", f"{AUTH}Transfer-Encoding: chunked\r\n", True, 413),
    ]
    rss_before = _peak_rss_mib()
    outcomes, statuses = [], []
    with ServedApp(settings) as served:
        for name, headers, chunked, expected in cases:
            before = served.counter.pulled
            status, sent = _post_until_answered(served, headers, chunked=chunked)
            pulled = served.counter.pulled - before
            # Answered while the client was still sending, having read nothing (or, with credentials and no
            # declared length, the limit and the last message the server handed over, at most a few socket reads).
            assert (status, sent < DECLARED) == (expected, True), name
            assert pulled <= (LIMIT + READ_SLACK if expected == 413 and chunked else 0), (name, pulled)
            statuses.append(status)
            outcomes.append(f"{name}: {status} after {sent // 1024} KiB sent, {pulled // 1024} KiB read")
    figures.record(
        Figure(
            "security",
            "admin body before credentials",
            f"POSTs to {ROUTE} streaming up to 100 MiB of body over a real socket, without and with the admin "
            f"credentials (max_body_bytes = {LIMIT // 1024} KiB); the app's body reads counted",
            len(cases),
            "100 MiB bodies, declared and chunked",
            None,
            None,
            None,
            sum(status >= 500 for status in statuses),
            "; ".join(outcomes) + f"; peak memory of the test process grew {_peak_rss_mib() - rss_before:.0f} MiB",
        )
    )


def _signed_webhook(url: str, event_id: str) -> int:
    body = chat_body(event_id, f"{event_id}@example.com", "sent while slow clients hold connections")
    signature = hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx2.post(f"{url}/hooks/shop/chat", content=body, headers={"x-signature": signature}).status_code


def test_slow_connections_are_closed_and_webhooks_still_served(
    sandbox: SandboxServer, tmp_path: Path, figures: Figures
) -> None:
    settings = settings_for(
        sandbox.url, tmp_path / "ib.db", SITES, header_timeout_seconds=0.5, body_timeout_seconds=0.5
    )
    start = b"POST /hooks/shop/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    kinds = {
        "nothing": b"",
        "half the headers": start + b"X-Signa",
        "headers and half the body": start + b"Content-Length: 500\r\n\r\n{",
    }
    with ServedApp(settings) as served:
        held: list[tuple[str, socket.socket]] = [
            (kind, served.connect(first)) for kind, first in kinds.items() for _ in range(SLOW_EACH)
        ]
        statuses = [_signed_webhook(served.url, f"slow-{i}") for i in range(WEBHOOKS)]
        # Each read ends only when the server closes the connection; a socket still open after 10 s fails it.
        answers = [(kind, read_until_closed(sock)) for kind, sock in held]
    assert statuses == [202] * WEBHOOKS
    timed_out = sum(answer.startswith(b"HTTP/1.1 408 ") for _, answer in answers)
    assert [answer for kind, answer in answers if kind == "nothing"] == [b""] * SLOW_EACH
    assert timed_out == 2 * SLOW_EACH
    figures.record(
        Figure(
            "security",
            "slow connections",
            f"{len(held)} connections held open ({SLOW_EACH} each sending nothing, half the headers, the headers "
            f"and half the body; deadlines 0.5 s) while {WEBHOOKS} signed webhooks are sent",
            len(held) + WEBHOOKS,
            f"{len(held)} slow connections",
            None,
            None,
            None,
            sum(status >= 500 for status in statuses),
            f"all {len(held)} closed by the server ({timed_out} answered 408, the silent ones just closed); "
            f"webhooks meanwhile: {', '.join(map(str, statuses))}",
        )
    )
