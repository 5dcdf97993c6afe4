"""Stand-ins for Stripe's and Crisp's APIs, served over real HTTP on loopback: the paths, authentication and
answer shapes each provider documents, with the records the tests put in them and the failures they ask for."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web
from connector_support import fixture

STRIPE_KEY = "rk_test_51NffrFeUfNV2HibRestrictedKey0000"
CRISP_IDENTIFIER = "7c3ef21c-1e04-41ce-8c06-5605c346f73e"
CRISP_KEY = "cc29e1a5086e428fcc6a697d5837a66d82808e65c5cce006fbf2191ceea80a0a"


@dataclass
class Fault:
    """One answer given instead of the real one: a status and body, after ``delay`` seconds."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeApi:
    """A provider's API on 127.0.0.1: ``faults`` are answered first, one per request; ``requests`` lists what
    came in (method, path, headers)."""

    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def routes(self, app: web.Application) -> None:
        """Add the provider's routes."""
        raise NotImplementedError

    async def __aenter__(self) -> FakeApi:
        app = web.Application(middlewares=[self._record])
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.headers)))
        if self.faults:
            fault = self.faults.popleft()
            await asyncio.sleep(fault.delay)
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        response: web.StreamResponse = await handler(request)
        return response


def stripe_error(status: int, message: str, **fields: str) -> web.Response:
    """An error as Stripe answers it: ``{"error": {"type", "message", "code", "param", "doc_url"}}``."""
    body = {"error": {"type": "invalid_request_error", "message": message, **fields}}
    return web.json_response(body, status=status)


class FakeStripe(FakeApi):
    """``GET /v1/customers/{id}`` with a Bearer secret key, as Stripe's API reference describes it."""

    def __init__(self, key: str = STRIPE_KEY) -> None:
        super().__init__()
        self.key = key
        self.customers: dict[str, dict[str, Any]] = {}

    def add(self, name: str) -> dict[str, Any]:
        """Serve the customer in fixture ``name``; returns it."""
        customer: dict[str, Any] = fixture(name)
        self.customers[customer["id"]] = customer
        return customer

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/customers/{id}", self._customer)

    async def _customer(self, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        if given != f"Bearer {self.key}":
            # Stripe masks the key it was given; this one repeats it whole, to show we never pass it on.
            return stripe_error(401, f"Invalid API Key provided: {given.removeprefix('Bearer ')}")
        customer_id = request.match_info["id"]
        customer = self.customers.get(customer_id)
        if customer is None:
            return stripe_error(
                404,
                f"No such customer: '{customer_id}'",
                code="resource_missing",
                param="id",
                doc_url="https://stripe.com/docs/error-codes/resource-missing",
            )
        return web.json_response(customer)


def crisp_answer(status: int, reason: str, data: Any = None) -> web.Response:
    """An answer as Crisp's REST API gives it: ``{"error", "reason", "data"}``."""
    body = {"error": status >= 400, "reason": reason, "data": {} if data is None else data}
    return web.json_response(body, status=status)


class FakeCrisp(FakeApi):
    """``GET /v1/website/{website_id}/conversation/{session_id}/meta`` with HTTP Basic auth on a token keypair and
    ``X-Crisp-Tier``, as Crisp's REST API reference describes it."""

    def __init__(self, identifier: str = CRISP_IDENTIFIER, key: str = CRISP_KEY) -> None:
        super().__init__()
        self.token = base64.b64encode(f"{identifier}:{key}".encode()).decode()
        self.metas: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, website_id: str, session_id: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Serve ``meta`` (the documented example's, by default) for that conversation; returns it."""
        served = meta if meta is not None else json.loads(json.dumps(fixture("crisp_conversation_meta")["data"]))
        self.metas[(website_id, session_id)] = served
        return served

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/website/{website}/conversation/{session}/meta", self._meta)

    async def _meta(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Basic {self.token}":
            return crisp_answer(401, "invalid_session")
        if request.headers.get("X-Crisp-Tier") not in ("plugin", "user"):
            return crisp_answer(400, "invalid_tier")
        meta = self.metas.get((request.match_info["website"], request.match_info["session"]))
        if meta is None:
            return crisp_answer(404, "session_not_found")
        return crisp_answer(200, "resolved", meta)
