"""The ASGI app over one :class:`~inboxbridge.service.Service`: webhook routes, health probes, admin API,
dashboard and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from inboxbridge import __version__
from inboxbridge.server import admin_api, dashboard, health, metrics, webhooks, wix_events
from inboxbridge.service import Service

__all__ = ["InboxbridgeApp", "create_app"]


class InboxbridgeApp(FastAPI):
    """FastAPI, except that webhooks go straight to :func:`~inboxbridge.server.webhooks.serve_webhook`.

    A ``POST`` whose path matches the webhook route skips FastAPI's middleware, routing and dependency layers;
    every other request (other methods and paths, trailing slashes, requests under a root path) is FastAPI's.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Starlette matches routes on the path below the root path; without one, that is the whole path.
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path") and not self.root_path:
            match = webhooks.WEBHOOK_PATTERN.match(scope["path"])
            if match is not None:
                service: Service = self.state.service
                await webhooks.serve_webhook(service, scope, receive, send, match["tenant"], match["source"])
                return
        await super().__call__(scope, receive, send)


def create_app(service: Service) -> FastAPI:
    """The app serving ``service``; starting the app (ASGI lifespan) starts the service, stopping stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = InboxbridgeApp(title="inboxbridge", version=__version__, lifespan=lifespan)
    app.state.service = service
    app.include_router(webhooks.router)
    app.include_router(wix_events.router)
    app.include_router(health.router)
    app.include_router(admin_api.router)
    app.include_router(dashboard.router)
    app.include_router(metrics.router)
    return app
