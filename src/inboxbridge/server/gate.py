"""The app's first line: admin credentials checked before any body is read, and every other body capped.

FastAPI reads and parses a request's body before it solves the route's dependencies, so behind
:func:`~inboxbridge.server.auth.require_admin` alone a request without credentials could still make the process
read and hold a body of any size. :class:`RequestGate`, an ASGI middleware around the whole app, answers such a
request with ``require_admin``'s own refusal from the headers alone, before the app reads a byte of its body
(``require_admin`` stays on the routes as the second line). It also caps the body of every request but the
providers' webhooks at ``max_body_bytes``: a declared Content-Length over the cap is answered 413 at once, and a
body without one is counted as the app reads it and cut off, with a 413, once it passes the cap. The webhook
endpoint reads its body under the same cap itself and answers in the form each provider expects.
"""

from __future__ import annotations

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inboxbridge.server.admin_headers import API_POLICY, HARDENING
from inboxbridge.server.auth import require_admin
from inboxbridge.server.body import BodyTooLarge
from inboxbridge.server.webhooks import route as webhook_route

__all__ = ["ADMIN_PREFIXES", "RequestGate", "needs_admin"]

log = structlog.get_logger("inboxbridge.gate")

ADMIN_PREFIXES = ("/admin", "/metrics")
"""Every path at or below one of these needs the admin credentials (the admin API, the dashboard, metrics)."""

_HEADERS = {"Content-Security-Policy": API_POLICY, **HARDENING}


def needs_admin(path: str) -> bool:
    """True for the paths of the admin API, the dashboard and ``/metrics``."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in ADMIN_PREFIXES)


def _route_path(scope: Scope) -> str:
    """The path the app's routes match: without the root path the app is served under, if any."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


def _is_webhook(scope: Scope) -> bool:
    return scope["method"] == "POST" and webhook_route.path_regex.match(_route_path(scope)) is not None


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # The server has already refused a Content-Length that is not a number.
            return int(value) if value.isdigit() else None
    return None


class _CappedBody:
    """The app's ``receive``: counts the body as it arrives and raises :class:`BodyTooLarge` once it is over."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self._size = 0
        self.over = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._limit:
                self.over = True
                raise BodyTooLarge(self._limit)
        return message


class RequestGate:
    """ASGI middleware: admin credentials before the body, and a cap on every body but the webhooks'.

    A client that goes away mid-request (or whose connection the server closes for sending too slowly) ends the
    request quietly: there is no one left to answer, and nothing went wrong on our side.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, cap, or pass the request through to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if _is_webhook(scope):
                await self.app(scope, receive, send)
            else:
                await self._gated(scope, receive, send)
        except ClientDisconnect:
            log.info("client went away mid-request", path=scope["path"], client=scope.get("client"))

    async def _gated(self, scope: Scope, receive: Receive, send: Send) -> None:
        if needs_admin(_route_path(scope)):
            try:
                # A request with no receive channel: should the check ever touch the body, it fails loudly.
                await require_admin(Request(scope))
            except HTTPException as exc:
                answer = JSONResponse(
                    {"detail": exc.detail}, status_code=exc.status_code, headers={**_HEADERS, **(exc.headers or {})}
                )
                await answer(scope, receive, send)
                return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        body = _CappedBody(receive, self.max_body_bytes)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if body.over:
                # The app's answer to a body cut short means nothing; the 413 below answers instead.
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, body, guarded_send)
        except Exception:
            # Whatever the app made of the cut-off body (FastAPI turns it into a 400) is replaced by the 413.
            if not body.over:
                raise
        if body.over and not started:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = JSONResponse({"detail": str(BodyTooLarge(self.max_body_bytes))}, status_code=413, headers=_HEADERS)
        await answer(scope, receive, send)
