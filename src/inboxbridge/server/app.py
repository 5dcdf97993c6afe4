"""The ASGI app over one :class:`~inboxbridge.service.Service`: webhook routes, health probes, admin API,
dashboard and metrics.

The app is a small Starlette router with two routes: the webhook route (a plain ASGI endpoint, nearly all of the
traffic) and, mounted below it, the FastAPI app that serves everything else with its OpenAPI document. Middleware
added to the app (:meth:`~starlette.applications.Starlette.add_middleware`) wraps both. FastAPI's own layers
(its exception handlers, body limit, exit stacks, dependency solving) stay on the FastAPI side: measured on the
webhook path, going through them costs about a fifth of the durable ingest rate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import Mount
from starlette.types import ASGIApp

from inboxbridge import __version__
from inboxbridge.server import admin_api, dashboard, health, metrics, webhooks, wix_events
from inboxbridge.server.context import ServerContext
from inboxbridge.server.gate import RequestGate
from inboxbridge.service import Service

__all__ = ["ServiceApp", "create_api", "create_app"]


class ServiceApp(Starlette):
    """A Starlette app without Starlette's exception middleware in front of its router.

    Its routes have no use for it: the webhook endpoint raises no ``HTTPException``, and the mounted FastAPI app
    has exception handling of its own. It would build a request object for every webhook (measured: ~3% of the
    ingest rate). An unexpected error still ends in ``ServerErrorMiddleware``: a plain 500, the error raised on
    to the server to log.
    """

    def build_middleware_stack(self) -> ASGIApp:
        """``ServerErrorMiddleware``, then the middleware added to the app, then the router."""
        layers = [Middleware(ServerErrorMiddleware, debug=self.debug), *self.user_middleware]
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(layers):
            app = cls(app, *args, **kwargs)
        return app


def create_api(context: ServerContext) -> FastAPI:
    """The FastAPI app of every route but the webhook endpoint (which it declares in its OpenAPI document)."""
    api = FastAPI(title="inboxbridge", version=__version__)
    api.state.service = context
    api.include_router(webhooks.router)
    api.include_router(wix_events.router)
    api.include_router(health.router)
    api.include_router(admin_api.router)
    api.include_router(dashboard.router)
    api.include_router(metrics.router)
    return api


def create_app(service: Service) -> ServiceApp:
    """The app serving ``service``; starting the app (ASGI lifespan) starts the service, stopping stops it.

    ``app.state.api`` is the FastAPI app below it (``app.state.api.openapi()`` is the OpenAPI document).
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    # The routes see the service only as a ServerContext (checked here): what the HTTP layer may use, by name.
    context: ServerContext = service
    api = create_api(context)
    app = ServiceApp(routes=[webhooks.route, Mount("", app=api)], lifespan=lifespan)
    # What even the catch-all mount does not match (a path with a newline) is FastAPI's too: its 404, not a 500.
    app.router.default = api
    # Before any route: admin credentials are checked before a body is read, and every body is capped.
    app.add_middleware(RequestGate, max_body_bytes=service.settings.max_body_bytes)
    app.state.service = context
    app.state.api = api
    return app
