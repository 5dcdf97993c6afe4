"""Slow clients on a real server: a connection that sends nothing, half its headers or half its body is closed
once its deadline passes (a 408 when a request had begun), while webhooks sent meanwhile are served; past
``max_connections``, requests are answered 503."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from inboxbridge.sandbox import SandboxServer

from .conftest import SITES, chat_body
from .live import CHAT_SECRET, settings_for
from .served import ServedApp, read_until_closed

PARTIAL_HEADERS = b"POST /hooks/shop/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl"
PARTIAL_BODY = b"POST /hooks/shop/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + b'{"id": "'
GET = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
def served(sandbox: SandboxServer, tmp_path: Path) -> Iterator[ServedApp]:
    settings = settings_for(
        sandbox.url, tmp_path / "ib.db", SITES, header_timeout_seconds=0.5, body_timeout_seconds=0.5
    )
    with ServedApp(settings) as app:
        yield app


def _webhook(url: str, event_id: str) -> httpx2.Response:
    body = chat_body(event_id, f"{event_id}@example.com", "hello")
    signature = hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx2.post(f"{url}/hooks/shop/chat", content=body, headers={"x-signature": signature}, timeout=10)


def test_slow_connections_are_closed_while_webhooks_are_served(served: ServedApp) -> None:
    idle = served.connect()
    headers = served.connect(PARTIAL_HEADERS)
    body = served.connect(PARTIAL_BODY)
    assert _webhook(served.url, "meanwhile").status_code == 202
    # Each read ends only when the server closes the connection (the sockets time out after 10 s otherwise).
    assert read_until_closed(idle) == b""
    assert read_until_closed(headers).startswith(b"HTTP/1.1 408 ")
    assert read_until_closed(body).startswith(b"HTTP/1.1 408 ")


def test_the_header_deadline_counts_from_the_connection_not_from_the_last_byte(served: ServedApp) -> None:
    sock = served.connect(b"GET /healthz HTTP/1.1\r\n")
    sent = 0
    closed = False
    # One header byte every 0.1 s would keep a per-read timer of 0.5 s from ever firing.
    while sent < 100 and not closed:
        try:
            sock.sendall(b"X")
            sent += 1
            time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    if not closed:
        assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")
    assert sent < 100


def test_a_keep_alive_connection_gets_a_new_deadline_for_its_next_request(served: ServedApp) -> None:
    sock = served.connect(GET)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.")
    assert read_until_closed(sock).startswith(b"HTTP/1.1 408 ")


def test_requests_past_max_connections_are_answered_503(sandbox: SandboxServer, tmp_path: Path) -> None:
    settings = settings_for(sandbox.url, tmp_path / "ib.db", SITES, max_connections=3, header_timeout_seconds=60)
    with ServedApp(settings) as served:
        held = [served.connect() for _ in range(3)]
        try:
            assert _webhook(served.url, "one-too-many").status_code == 503
        finally:
            for sock in held:
                sock.close()
