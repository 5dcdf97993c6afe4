"""The ASGI app over one :class:`~inboxbridge.service.Service`: webhook routes, health probes, admin API,
dashboard and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from inboxbridge import __version__
from inboxbridge.server import admin_api, dashboard, health, metrics, webhooks, wix_events
from inboxbridge.server.context import ServerContext
from inboxbridge.service import Service

__all__ = ["create_app"]


def create_app(service: Service) -> FastAPI:
    """The app serving ``service``; starting the app (ASGI lifespan) starts the service, stopping stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    # Webhooks are nearly all of the traffic: their route comes first, so it is the first that the router tries.
    app = FastAPI(title="inboxbridge", version=__version__, lifespan=lifespan, routes=[webhooks.route])
    # The routes see the service only as a ServerContext (checked here): what the HTTP layer may use, by name.
    context: ServerContext = service
    app.state.service = context
    app.include_router(webhooks.router)
    app.include_router(wix_events.router)
    app.include_router(health.router)
    app.include_router(admin_api.router)
    app.include_router(dashboard.router)
    app.include_router(metrics.router)
    return app
