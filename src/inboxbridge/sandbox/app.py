"""The sandbox ASGI app: Wix paths, admin paths, the Inbox page and the request log around them."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .admin_routes import admin_routes
from .config import SandboxConfig
from .page import inbox_page
from .runtime import Sandbox
from .state import RequestRecord, new_guid
from .wix_routes import wix_routes

__all__ = ["create_app"]

_UNLOGGED = ("/_sandbox", "/favicon.ico")


class RequestLogMiddleware:
    """Gives every Wix-side request an ``x-wix-request-id`` and writes it to the request log when answered.

    Admin calls and the page are not logged, so the log counts exactly what a client sent to "Wix".
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or path.startswith(_UNLOGGED):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request_id = new_guid()
        state["wix_request_id"] = request_id
        started = time.time()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-wix-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.sandbox.state.log_request(
                RequestRecord(
                    method=scope["method"],
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    site_id=state.get("site_id"),
                    status=status,
                    started_at=started,
                    ended_at=time.time(),
                    wix_request_id=request_id,
                    conversation_id=state.get("conversation_id"),
                    auth_kind=state.get("auth_kind"),
                    token_subject=state.get("token_subject"),
                )
            )


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answer in Wix's JSON error shape, not Starlette's plain text."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "Not Found" if status == 404 else "Method Not Allowed" if status == 405 else "Error"
    return JSONResponse({"message": message, "details": {}}, status_code=status)


def create_app(config: SandboxConfig) -> Starlette:
    """The sandbox as an ASGI app; its state lives in ``app.state.sandbox``."""
    sandbox = Sandbox(config)
    app = Starlette(
        routes=[Route("/", inbox_page, methods=["GET"]), *admin_routes(), *wix_routes()],
        middleware=[Middleware(RequestLogMiddleware, sandbox=sandbox)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    return app
