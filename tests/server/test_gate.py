"""The request gate, driven over raw ASGI so that every body byte the app pulls is counted: admin requests
without the right credentials are refused before a byte of their body is read, the same way ``require_admin``
refuses them; every body but the webhooks' is capped at ``max_body_bytes``; a client gone mid-body ends the
request quietly."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message

from inboxbridge.sandbox import SandboxServer
from inboxbridge.server import admin_api, create_app, dashboard, health, metrics, webhooks, wix_events
from inboxbridge.server.auth import ADMIN_OFF, require_admin
from inboxbridge.server.gate import needs_admin
from inboxbridge.service import Service

from .conftest import SITES
from .live import ADMIN, TOKEN, settings_for

MIB = 1024 * 1024
HUNDRED_MIB = 100 * MIB
LIMIT = 64 * 1024
BASIC = "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
JSON_ROUTE = "/admin/api/dead-letters/replay"
ROUTERS = [webhooks.router, wix_events.router, health.router, admin_api.router, dashboard.router, metrics.router]


@dataclass
class Exchange:
    """One request over raw ASGI: what the app answered, and how much of the offered body it pulled."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    starts: int = 0
    pulled: int = 0

    def json(self) -> Any:
        return orjson.loads(self.body)


def _chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    chunk = b"x" * size
    for start in range(0, total, size):
        yield chunk[: min(size, total - start)]


async def _exchange(
    app: ASGIApp, method: str, path: str, headers: dict[str, str], chunks: Iterator[bytes], *, gone: bool = False
) -> Exchange:
    """Send the request, offering ``chunks`` as its body (then the client disconnects if ``gone``)."""
    result = Exchange()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "bridge.example", **headers}.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("bridge.example", 80),
    }

    async def receive() -> Message:
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.disconnect"} if gone else {"type": "http.request", "body": b"", "more_body": False}
        result.pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            result.starts += 1
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")

    await app(scope, receive, send)
    return result


async def _app(sandbox: SandboxServer, database: Path, **extra: Any) -> AsyncIterator[ASGIApp]:
    service = Service(settings_for(sandbox.url, database, SITES, max_body_bytes=LIMIT, **extra), run_worker=False)
    await service.start()
    try:
        yield create_app(service)
    finally:
        await service.stop()


@pytest_asyncio.fixture
async def app(sandbox: SandboxServer, tmp_path: Path) -> AsyncIterator[ASGIApp]:
    async for served in _app(sandbox, tmp_path / "ib.db"):
        yield served


def _declared(size: int, **headers: str) -> dict[str, str]:
    return {"content-type": "application/json", "content-length": str(size), **headers}


def _chunked(**headers: str) -> dict[str, str]:
    return {"content-type": "application/json", "transfer-encoding": "chunked", **headers}


@pytest.mark.parametrize("path", [JSON_ROUTE, "/metrics", "/admin/no-such-page"])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic bm9ib2R5Om5vdGhpbmc="])
async def test_an_admin_request_without_credentials_is_refused_before_its_body_is_read(
    app: ASGIApp, path: str, authorization: str | None
) -> None:
    auth = {"authorization": authorization} if authorization else {}
    for headers in (_declared(HUNDRED_MIB, **auth), _chunked(**auth)):
        answer = await _exchange(app, "POST", path, headers, _chunks(HUNDRED_MIB))
        assert (answer.status, answer.pulled) == (401, 0)
        assert answer.json() == {"detail": "admin credentials required"}
        assert answer.headers["www-authenticate"].startswith('Basic realm="inboxbridge admin"')
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")


async def test_with_the_admin_side_off_a_request_is_refused_with_how_to_turn_it_on_before_its_body(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    async for app in _app(sandbox, tmp_path / "off.db", admin=None):
        answer = await _exchange(app, "POST", JSON_ROUTE, _chunked(authorization=BASIC), _chunks(HUNDRED_MIB))
        assert (answer.status, answer.pulled, answer.json()) == (403, 0, {"detail": ADMIN_OFF})


async def test_a_cross_site_write_is_refused_before_its_body(app: ASGIApp) -> None:
    headers = _declared(HUNDRED_MIB, authorization=BASIC, origin="https://evil.example")
    answer = await _exchange(app, "POST", JSON_ROUTE, headers, _chunks(HUNDRED_MIB))
    assert (answer.status, answer.pulled, answer.json()) == (403, 0, {"detail": "cross-site request refused"})


@pytest.mark.parametrize("authorization", [BASIC, f"Bearer {TOKEN}"])
async def test_an_admin_body_over_the_limit_is_413_declared_or_not(app: ASGIApp, authorization: str) -> None:
    limit_message = {"detail": f"request body is larger than the limit of {LIMIT} bytes"}
    declared = await _exchange(
        app, "POST", JSON_ROUTE, _declared(HUNDRED_MIB, authorization=authorization), _chunks(HUNDRED_MIB)
    )
    assert (declared.status, declared.pulled, declared.json()) == (413, 0, limit_message)
    streamed = await _exchange(
        app, "POST", JSON_ROUTE, _chunked(authorization=authorization), _chunks(HUNDRED_MIB, 16 * 1024)
    )
    # Cut off at the chunk that passed the limit; the app's own answer to the cut body is not sent.
    assert (streamed.status, streamed.starts, streamed.json()) == (413, 1, limit_message)
    assert LIMIT < streamed.pulled <= LIMIT + 16 * 1024


async def test_an_admin_body_within_the_limit_reaches_the_route_whole(app: ASGIApp) -> None:
    body = orjson.dumps({"all": True, "tenant": "shop", "note": " " * (LIMIT - 100)})
    pieces = iter([body[:1000], body[1000:]])
    answer = await _exchange(app, "POST", JSON_ROUTE, _chunked(authorization=BASIC), pieces)
    assert (answer.status, answer.json(), answer.pulled) == (200, {"replayed": 0}, len(body))


async def test_a_client_gone_mid_body_ends_the_request_quietly(app: ASGIApp) -> None:
    for path in ("/hooks/shop/chat", JSON_ROUTE):
        headers = _declared(50_000, authorization=BASIC)
        answer = await _exchange(app, "POST", path, headers, _chunks(20_000, 10_000), gone=True)
        assert answer.pulled == 20_000


def test_every_route_behind_the_admin_credentials_is_gated_and_no_other() -> None:
    paths, admin = set(), set()
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            paths.add(route.path)
            if any(d.dependency is require_admin for d in [*router.dependencies, *route.dependencies]):
                admin.add(route.path)
    assert len(admin) >= 20
    assert {path for path in paths if needs_admin(path)} == admin
