"""Webhooks are served by a plain ASGI endpoint on the app's router: the same answers, byte for byte, with or
without a root path; unexpected errors and middleware are the app's, as for any route; every other request
(other methods, near-miss paths, the rest of the app) is FastAPI's; the OpenAPI document declares the operation."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx2
import pytest
import pytest_asyncio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inboxbridge.sandbox import SandboxServer
from inboxbridge.server import create_app
from inboxbridge.service import Service
from inboxbridge.store import StoreUnavailable

from .conftest import SITES, chat_body
from .live import CHAT_SECRET, LiveService, settings_for

Answer = tuple[int, list[tuple[str, str]], bytes]
Requests = Sequence[tuple[str, bytes, dict[str, str]]]


def _signed(body: bytes) -> dict[str, str]:
    return {"x-signature": hmac.new(CHAT_SECRET.encode(), body, hashlib.sha256).hexdigest()}


@pytest_asyncio.fixture
async def services(sandbox: SandboxServer, tmp_path: Path) -> AsyncIterator[list[Service]]:
    """Two services alike, each with a store of its own, so that the same requests get the same ids."""
    started = []
    try:
        for name in ("direct", "routed"):
            settings = settings_for(sandbox.url, tmp_path / f"{name}.db", SITES, max_body_bytes=1024)
            service = Service(settings, run_worker=False)
            await service.start()
            started.append(service)
        yield started
    finally:
        for service in started:
            await service.stop()


async def _send_all(app: Any, root_path: str, requests: Requests) -> list[Answer]:
    transport = httpx2.ASGITransport(app=app, root_path=root_path)
    answers: list[Answer] = []
    async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as client:
        for url, body, headers in requests:
            answer = await client.post(url, content=body, headers=headers)
            answers.append((answer.status_code, list(answer.headers.multi_items()), answer.content))
    return answers


async def _both_ways(services: list[Service], requests: Requests) -> tuple[list[Answer], list[Answer]]:
    """The answers of the first service's app, and of the second's under a root path."""
    direct, routed = services
    return await _send_all(create_app(direct), "", requests), await _send_all(create_app(routed), "/bridge", requests)


async def test_webhook_answers_are_the_same_under_a_root_path(
    services: list[Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    new, other, anonymous = chat_body("d-1", "a@example.com", "hi"), chat_body("d-2", "b@example.com", "yo"), b"{}"
    unreadable = b'{"id": "no-customer"}'
    requests = [
        ("/hooks/shop/chat", new, _signed(new)),
        ("/hooks/shop/chat", new, _signed(new)),
        ("/hooks/shop/chat?a=1&a=2&b=", other, _signed(other)),
        ("/hooks/shop/chat", unreadable, _signed(unreadable)),
        ("/hooks/shop/chat", anonymous, {}),
        ("/hooks/shop/chat", anonymous, {"x-signature": "00"}),
        ("/hooks/nowhere/chat", new, _signed(new)),
        ("/hooks/shop/nothing", new, _signed(new)),
        ("/hooks/shop/chat", b"x" * 2000, {}),
    ]
    direct, routed = await _both_ways(services, requests)
    assert direct == routed
    assert [status for status, _, _ in direct] == [202, 200, 202, 400, 401, 401, 404, 404, 413]
    status, headers, body = direct[0]
    assert headers == [("content-length", str(len(body))), ("content-type", "application/json")]
    assert await services[0].store.ledger.counts("shop") == await services[1].store.ledger.counts("shop")

    async def unavailable(events: object) -> None:
        raise StoreUnavailable("disk full")

    for service in services:
        monkeypatch.setattr(service.store.queue, "ingest", unavailable)
    direct, routed = await _both_ways(services, [("/hooks/shop/chat", other, _signed(other))])
    assert direct == routed
    status, headers, _ = direct[0]
    assert (status, ("retry-after", "5") in headers) == (503, True)


async def test_an_unexpected_error_is_a_plain_500_and_reaches_the_server(
    services: list[Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = services[0]

    async def broken(events: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service.store.queue, "ingest", broken)
    body = chat_body("e-1", "a@example.com", "hi")
    transport = httpx2.ASGITransport(app=create_app(service), raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as client:
        answer = await client.post("/hooks/shop/chat", content=body, headers=_signed(body))
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    transport = httpx2.ASGITransport(app=create_app(service))
    async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as client:
        with pytest.raises(RuntimeError, match="a bug"):
            await client.post("/hooks/shop/chat", content=body, headers=_signed(body))


def test_other_methods_and_near_miss_paths_are_answered_by_fastapi(live: LiveService) -> None:
    with httpx2.Client(base_url=live.url, follow_redirects=False) as client:
        for method in ("GET", "HEAD", "PUT", "DELETE"):
            answer = client.request(method, "/hooks/shop/chat")
            assert (answer.status_code, answer.headers["allow"]) == (405, "POST"), method
        assert client.get("/hooks/shop/chat").json() == {"detail": "Method Not Allowed"}
        slash = client.post("/hooks/shop/chat/", content=b"{}")
        assert (slash.status_code, slash.headers["location"]) == (307, f"{live.url}/hooks/shop/chat")
        for path in ("/hooks/shop", "/hooks/shop/chat/more", "/hooks//chat", "/HOOKS/shop/chat"):
            answer = client.post(path, content=b"{}")
            assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"}), path
        assert client.get("/healthz").status_code == 200
        operation = client.get("/openapi.json").json()["paths"]["/hooks/{tenant}/{source}"]
        assert list(operation) == ["post"]
        assert operation["post"]["summary"] == "Receive a provider's webhook"


class _Stamp:
    """A pure ASGI middleware: notes each HTTP request's method and path, and stamps a header on its answer."""

    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.seen.append(f"{scope['method']} {scope['path']}")

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message["headers"], (b"x-stamp", b"seen")]
            await send(message)

        await self.app(scope, receive, stamped)


async def test_a_middleware_added_to_the_app_wraps_webhooks(services: list[Service]) -> None:
    app = create_app(services[0])
    seen: list[str] = []
    app.add_middleware(_Stamp, seen=seen)
    body = chat_body("m-1", "a@example.com", "hi")
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as client:
        accepted = await client.post("/hooks/shop/chat", content=body, headers=_signed(body))
        unknown = await client.post("/hooks/nowhere/chat", content=body, headers=_signed(body))
    assert (accepted.status_code, accepted.headers["x-stamp"]) == (202, "seen")
    assert (unknown.status_code, unknown.headers["x-stamp"]) == (404, "seen")
    assert seen == ["POST /hooks/shop/chat", "POST /hooks/nowhere/chat"]


def test_the_openapi_document_declares_the_webhook_operation(services: list[Service]) -> None:
    operations = create_app(services[0]).state.api.openapi()["paths"]["/hooks/{tenant}/{source}"]
    assert list(operations) == ["post"]
    operation = operations["post"]
    assert operation["summary"] == "Receive a provider's webhook"
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("tenant", "path", True),
        ("source", "path", True),
    ]
    assert {status: answer["description"] for status, answer in operation["responses"].items()} == {
        "200": "Already received: every event in it was stored before",
        "202": "Accepted: the events are stored and will be delivered",
        "400": "Unreadable request; kept in quarantine",
        "401": "Missing or wrong signature; nothing stored",
        "404": "Unknown tenant or source",
        "413": "Body over the size limit",
        "422": "Validation Error",
        "503": "Store unavailable; retry later",
    }


async def test_a_path_with_a_newline_is_answered_by_fastapi_not_a_500(services: list[Service]) -> None:
    """The catch-all mount's pattern stops at a newline; such a path still reaches FastAPI, which refuses it."""
    transport = httpx2.ASGITransport(app=create_app(services[0]), raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://bridge.example") as client:
        for path in ("/nothing/y%0Ax", "/%0A", "/admin/api/quarantine/y%0Ax"):
            answer = await client.get(path)
            assert answer.status_code in (401, 403, 404) and "detail" in answer.json(), (path, answer.text)
