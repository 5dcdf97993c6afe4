"""A scripted stand-in for Wix behind ``httpx2.MockTransport``, and a hand-driven clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from inboxbridge.wix import RetryPolicy, WixClient

BASE_URL = "https://wix.test"

Reply = httpx2.Response | Exception | Callable[[httpx2.Request], Awaitable[httpx2.Response]]


def reply(status: int = 200, body: Any = None, *, headers: dict[str, str] | None = None) -> httpx2.Response:
    """A canned answer: ``body`` as JSON (bytes/str sent as they are), with ``x-wix-request-id``."""
    all_headers = {"x-wix-request-id": f"req-{status}"}
    all_headers.update(headers or {})
    if isinstance(body, bytes | str):
        return httpx2.Response(status, content=body, headers=all_headers)
    return httpx2.Response(status, json=body if body is not None else {}, headers=all_headers)


class FakeWix:
    """Answers requests from per-route queues (the last answer repeats) and records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self.routes: dict[tuple[str, str], list[Reply]] = {}

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def sent(self, method: str, path: str) -> list[httpx2.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def bodies(self, method: str, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.sent(method, path)]

    async def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        queue = self.routes.get((request.method, request.url.path))
        if not queue:
            return reply(404, {"message": "no such route in the test"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx2.Response):
            return answer
        return await answer(request)


class FakeTime:
    """A clock that only moves when told to, and a sleep that records the wait and moves the clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.advance_on_sleep = True

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.advance_on_sleep:
            self.now += seconds
        await asyncio.sleep(0)


def make_client(fake: FakeWix, time: FakeTime, **kwargs: Any) -> WixClient:
    """A client on the fake, with fake time and a seeded retry jitter."""
    kwargs.setdefault("retry", RetryPolicy(backoff_initial=0.2, backoff_max=5.0))
    kwargs.setdefault("rate_limit_per_second", 1000.0)
    kwargs.setdefault("rate_limit_burst", 1000)
    return WixClient(
        BASE_URL,
        transport=httpx2.MockTransport(fake.handle),
        clock=time.clock,
        sleep=time.sleep,
        **kwargs,
    )
