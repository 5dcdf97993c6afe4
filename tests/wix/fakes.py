"""A scripted stand-in for Wix behind the client's ``HttpBackend`` interface, and a hand-driven clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from inboxbridge.wix import RawResponse, RetryPolicy, WixClient
from inboxbridge.wix.http import no_answer_error


@dataclass(frozen=True)
class Sent:
    """One request as the client handed it to its backend; header names lower-cased."""

    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes | None

    def json(self) -> Any:
        """The body, decoded."""
        assert self.body is not None
        return json.loads(self.body)


@dataclass(frozen=True)
class NoAnswer:
    """An exchange that gets no HTTP answer; ``request_sent``: some of the request may have reached Wix."""

    timed_out: bool
    request_sent: bool


CONNECT_FAILED = NoAnswer(timed_out=False, request_sent=False)
NO_CONNECTION_IN_TIME = NoAnswer(timed_out=True, request_sent=False)
NO_ANSWER_IN_TIME = NoAnswer(timed_out=True, request_sent=True)
CONNECTION_BROKEN = NoAnswer(timed_out=False, request_sent=True)

Handler = Callable[[Sent], Awaitable[RawResponse]]
Reply = RawResponse | NoAnswer | Handler


def reply(status: int = 200, body: Any = None, *, headers: dict[str, str] | None = None) -> RawResponse:
    """A canned answer with the status's standard reason phrase: ``body`` as JSON (bytes/str sent as they are),
    with ``x-wix-request-id``.
    """
    all_headers = {"x-wix-request-id": f"req-{status}"}
    # The client looks headers up in lower case, as the real backend's case-insensitive mapping allows.
    all_headers.update({name.lower(): value for name, value in (headers or {}).items()})
    if isinstance(body, str):
        body = body.encode()
    content = body if isinstance(body, bytes) else json.dumps(body if body is not None else {}).encode()
    return RawResponse(status, HTTPStatus(status).phrase, all_headers, content)


class FakeWix:
    """An ``HttpBackend`` answering from per-route queues (the last answer repeats); records every request."""

    def __init__(self) -> None:
        self.requests: list[Sent] = []
        self.routes: dict[tuple[str, str], list[Reply]] = {}

    def on(self, method: str, path: str, *replies: Reply) -> None:
        """Answer requests to ``path`` with ``replies`` in turn; a handler is called with the request."""
        self.routes[(method, path)] = list(replies)

    def sent(self, method: str, path: str) -> list[Sent]:
        """The requests to one route, oldest first."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def bodies(self, method: str, path: str) -> list[Any]:
        """The decoded bodies of the requests to one route."""
        return [r.json() for r in self.sent(method, path)]

    async def exchange(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> RawResponse:
        """Record the request and give the route's next answer, or raise the no-answer error it scripts."""
        request = Sent(method, path, dict(params or {}), {k.lower(): v for k, v in headers.items()}, body)
        self.requests.append(request)
        queue = self.routes.get((method, path))
        if not queue:
            return reply(404, {"message": "no such route in the test"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, NoAnswer):
            raise no_answer_error(
                "simulated", timed_out=answer.timed_out, request_sent=answer.request_sent, method=method, path=path
            )
        if isinstance(answer, RawResponse):
            return answer
        return await answer(request)

    async def aclose(self) -> None:
        """Nothing to close."""


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
    """A client on the fake, with fake time, short retry waits and a rate limit no test reaches."""
    kwargs.setdefault("retry", RetryPolicy(backoff_initial=0.2, backoff_max=5.0))
    kwargs.setdefault("rate_limit_per_second", 1000.0)
    kwargs.setdefault("rate_limit_burst", 1000)
    return WixClient("https://wix.test", backend=fake, clock=time.clock, sleep=time.sleep, **kwargs)
