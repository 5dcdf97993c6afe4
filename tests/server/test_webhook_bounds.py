"""Webhooks that cost more to read than they should: form bombs are refused before any part is read, large bodies
are verified and parsed off the event loop (small ones on it), a request whose reading breaks or whose client goes
away mid-body logs one line and no traceback, and another tenant's webhook is served while attacks are in flight."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

from inboxbridge.config import Settings, load_settings
from inboxbridge.providers import Source, WebhookRequest
from inboxbridge.providers.helpers import forms
from inboxbridge.providers.helpers.forms import MAX_FORM_FIELDS, MAX_FORM_PARTS
from inboxbridge.sandbox import SandboxServer
from inboxbridge.server import create_app
from inboxbridge.server.webhooks import OFF_LOOP_BODY_BYTES
from inboxbridge.service import Service

from .conftest import SITES, chat_body
from .live import CHAT_SECRET, LiveService

FIXTURE = Path(__file__).parents[1] / "providers" / "fixtures" / "email" / "mailgun_forward.json"
MAILGUN_KEY = "mailgun-signing-key-for-bounds"
SENDGRID_TOKEN = "sendgrid-url-token-for-bounds"
TWILIO_TOKEN = "twilio-auth-token-for-bounds"
BOMB_BOUNDARY = "f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5"
URLENCODED = "application/x-www-form-urlencoded"
MAPPING = {"event_id": "id", "occurred_at": "at", "email": "customer.email", "name": "customer.name", "text": "text"}


def bounds_settings(sandbox_url: str, database: Path) -> Settings:
    """Tenant "shop" with form sources (Mailgun, SendGrid, Twilio SMS) and a chat; tenant "cafe" with a chat."""
    chat = {"type": "generic", "secret": CHAT_SECRET, "mapping": MAPPING}
    sources = {
        "shop": {
            "chat": chat,
            "mail": {"type": "mailgun", "signing_key": MAILGUN_KEY},
            "inbound": {"type": "sendgrid", "token": SENDGRID_TOKEN},
            "sms": {"type": "twilio_sms", "auth_token": TWILIO_TOKEN, "business_numbers": ["+14155550100"]},
        },
        "cafe": {"chat": chat},
    }
    return load_settings(
        None,
        database_url=f"sqlite:///{database}",
        wix={"base_url": sandbox_url, "requests_per_minute": 1_000_000, "burst": 100, "timeout_seconds": 5},
        worker={"poll_interval_seconds": 0.05},
        tenants={
            name: {"wix": {"api_key": f"key-{name}", "site_id": site}, "sources": sources[name]}
            for name, site in SITES.items()
        },
    )


def mailgun_form(attachment: bytes = b"%PDF-1.7 a small scan") -> tuple[bytes, dict[str, str]]:
    """A Mailgun route's multipart post with ``attachment``, signed now with the source's key."""
    fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(FIXTURE.read_text()).items()}
    timestamp, token = str(int(time.time())), uuid.uuid4().hex
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    fields |= {"Message-Id": f"<{token}@mail.example.com>", "timestamp": timestamp, "token": token}
    fields["signature"] = signature
    files = {"attachment-1": ("scan.pdf", attachment, "application/pdf")}
    built = httpx2.Request("POST", "http://bridge.example/", data=fields, files=files)
    return built.read(), {"content-type": built.headers["content-type"]}


def empty_parts_bomb() -> bytes:
    """18,000 parts, all empty: about 0.7 MiB, under the default body limit."""
    one = f"--{BOMB_BOUNDARY}\r\n\r\n\r\n".encode()
    return b"--" + BOMB_BOUNDARY.encode() + b'\r\nContent-Disposition: form-data; name="x"\r\n\r\n\r\n' + one * 17_999


def nested_bomb(depth: int = 1000) -> bytes:
    """One field whose content is multipart, ``depth`` levels down, each level under a boundary of its own."""
    inner = b'Content-Disposition: form-data; name="leaf"\r\n\r\nbottom'
    for level in range(depth, 0, -1):
        boundary = b"level-%d" % level
        head = b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n"
        inner = head + inner + b"\r\n--" + boundary + b"--"
    outer = BOMB_BOUNDARY.encode()
    return b"--" + outer + b'\r\nContent-Disposition: form-data; name="deep"\r\n' + inner + b"\r\n--" + outer + b"--"


BOMB_HEADERS = {"content-type": f"multipart/form-data; boundary={BOMB_BOUNDARY}"}


def signed_chat(event_id: str) -> tuple[bytes, dict[str, str]]:
    body = chat_body(event_id, f"{event_id}@example.com", "hello")
    return body, {"x-signature": hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()}


@pytest.fixture
def parts_read(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every form part the reader looks into, whichever thread reads it."""
    seen: list[bytes] = []
    real = forms._read_part

    def counting(raw: bytes) -> Any:
        seen.append(raw)
        return real(raw)

    monkeypatch.setattr(forms, "_read_part", counting)
    return seen


# In-process: the app on this test's event loop.


@pytest_asyncio.fixture
async def app(sandbox: SandboxServer, tmp_path: Path) -> AsyncIterator[tuple[Service, httpx2.AsyncClient]]:
    service = Service(bounds_settings(sandbox.url, tmp_path / "ib.db"), run_worker=False)
    await service.start()
    try:
        transport = httpx2.ASGITransport(app=create_app(service))
        async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as client:
            yield service, client
    finally:
        await service.stop()


def source_of(service: Service, tenant: str, name: str) -> Source:
    found = service.tenants.get(tenant)
    assert found is not None
    return found.sources[name]


def record_threads(monkeypatch: pytest.MonkeyPatch, source: Source) -> list[tuple[str, int]]:
    """Which thread ran each of ``source``'s ``verify`` and ``parse`` calls, in order."""
    calls: list[tuple[str, int]] = []
    for step in ("verify", "parse"):
        real: Callable[..., Any] = getattr(source, step)

        def recording(*args: Any, _step: str = step, _real: Callable[..., Any] = real, **kwargs: Any) -> Any:
            calls.append((_step, threading.get_ident()))
            return _real(*args, **kwargs)

        monkeypatch.setattr(source, step, recording)
    return calls


async def test_a_large_body_is_read_off_the_event_loop_and_a_small_one_on_it(
    app: tuple[Service, httpx2.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    service, client = app
    calls = record_threads(monkeypatch, source_of(service, "shop", "mail"))
    loop_thread = threading.get_ident()
    small, headers = mailgun_form()
    assert len(small) <= OFF_LOOP_BODY_BYTES
    answer = await client.post("/hooks/shop/mail", content=small, headers=headers)
    assert answer.status_code == 202, answer.text
    assert calls == [("verify", loop_thread), ("parse", loop_thread)]

    calls.clear()
    large, headers = mailgun_form(os.urandom(OFF_LOOP_BODY_BYTES))
    answer = await client.post("/hooks/shop/mail", content=large, headers=headers)
    assert answer.status_code == 202, answer.text
    assert [step for step, _ in calls] == ["verify", "parse"]
    assert all(thread != loop_thread for _, thread in calls), calls


async def test_form_bombs_are_refused_before_any_part_is_read(
    app: tuple[Service, httpx2.AsyncClient], parts_read: list[bytes]
) -> None:
    _, client = app
    bomb = empty_parts_bomb()
    assert len(bomb) <= 1 << 20

    unsigned = await client.post("/hooks/shop/mail", content=bomb, headers=BOMB_HEADERS)
    assert unsigned.status_code == 401
    assert f"more than {MAX_FORM_PARTS} parts" in unsigned.json()["error"]
    assert "quarantineId" not in unsigned.json()

    # Through a source that checks a URL token first: refused unread without it, quarantined with it.
    anonymous = await client.post("/hooks/shop/inbound", content=bomb, headers=BOMB_HEADERS)
    assert anonymous.status_code == 401
    authenticated = await client.post(
        "/hooks/shop/inbound", content=bomb, headers=BOMB_HEADERS, params={"token": SENDGRID_TOKEN}
    )
    assert authenticated.status_code == 400
    assert f"more than {MAX_FORM_PARTS} parts" in authenticated.json()["error"]
    assert "quarantineId" in authenticated.json()

    fields = await client.post(
        "/hooks/shop/sms", content=b"a=1&" * ((1 << 20) // 4), headers={"content-type": URLENCODED}
    )
    assert fields.status_code == 400
    assert fields.json() == {"error": f"the form has more than {MAX_FORM_FIELDS} fields, the most accepted"}
    assert parts_read == []


async def test_parts_nested_a_thousand_deep_are_refused_as_unsigned_without_being_read_into(
    app: tuple[Service, httpx2.AsyncClient], parts_read: list[bytes]
) -> None:
    _, client = app
    answer = await client.post("/hooks/shop/mail", content=nested_bomb(), headers=BOMB_HEADERS)
    assert answer.status_code == 401
    assert answer.json() == {"error": 'the "timestamp" field is missing: the request is not signed by Mailgun'}
    # The one outer part, read once; the thousand levels inside it are its value.
    assert len(parts_read) == 1


async def test_a_request_that_breaks_the_reader_is_refused_in_one_log_line(
    app: tuple[Service, httpx2.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = app

    def broken(raw: bytes) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(forms, "_read_part", broken)
    body, headers = mailgun_form()
    with capture_logs() as logs:
        answer = await client.post("/hooks/shop/mail", content=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"error": "the request could not be verified: checking its signature failed"}
    (line,) = logs
    assert (line["event"], line["log_level"], line["status"]) == ("webhook", "warning", 401)
    assert line["fault"].startswith("RecursionError: maximum recursion depth exceeded at ")
    assert "exc_info" not in line and "exception" not in line


# A real server on loopback: attacks in flight beside a legitimate webhook, and a client that goes away.


@pytest.fixture
def served(sandbox: SandboxServer, tmp_path: Path) -> Iterator[LiveService]:
    with LiveService(bounds_settings(sandbox.url, tmp_path / "ib.db")) as live:
        yield live


def test_another_tenants_webhook_is_answered_while_form_bombs_are_being_read(
    served: LiveService, monkeypatch: pytest.MonkeyPatch, parts_read: list[bytes]
) -> None:
    attacks = 3
    inside = threading.Semaphore(0)
    release = threading.Event()
    mail = source_of(served.service, "shop", "mail")
    real_verify = mail.verify

    def held(request: WebhookRequest) -> None:
        # Each attack stays in its signature check until the legitimate webhook has its answer: were the check on
        # the event loop, the first attack would hold the loop and no other request could come in.
        inside.release()
        release.wait(timeout=30)
        real_verify(request)

    monkeypatch.setattr(mail, "verify", held)
    bomb = empty_parts_bomb()
    with ThreadPoolExecutor(attacks) as pool:
        try:
            sent = [
                pool.submit(
                    httpx2.post, f"{served.url}/hooks/shop/mail", content=bomb, headers=BOMB_HEADERS, timeout=60
                )
                for _ in range(attacks)
            ]
            for _ in range(attacks):
                assert inside.acquire(timeout=30), "an attack never reached its signature check"
            body, headers = signed_chat("cafe-while-attacked")
            answer = httpx2.post(f"{served.url}/hooks/cafe/chat", content=body, headers=headers, timeout=30)
            assert answer.status_code == 202, answer.text
        finally:
            release.set()
        refused = [future.result() for future in sent]
    assert [r.status_code for r in refused] == [401] * attacks
    assert all(f"more than {MAX_FORM_PARTS} parts" in r.json()["error"] for r in refused)
    assert parts_read == []


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[list[logging.LogRecord]]:
    """What the HTTP server logs at warning or above (an error raised by the app, with its traceback)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def test_a_client_that_goes_away_mid_body_is_one_log_line(
    served: LiveService, server_errors: list[logging.LogRecord]
) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    head = (
        b"POST /hooks/shop/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n"
    )
    with capture_logs() as logs:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head + b'{"id": "cut-short", "text": "')
        deadline = time.monotonic() + 30
        while not any(entry.get("tenant") == "shop" for entry in logs) and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = [entry for entry in logs if entry.get("tenant") == "shop"]
    assert [(e["event"], e["source"]) for e in lines] == [("webhook client went away mid-body", "chat")]
    assert all("exc_info" not in e and "exception" not in e for e in logs)
    assert server_errors == []
