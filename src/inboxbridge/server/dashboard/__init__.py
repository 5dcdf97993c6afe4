"""The operator's dashboard: server-rendered pages under ``/admin/`` over the same functions as the admin API."""

from inboxbridge.server.dashboard.routes import router

__all__ = ["router"]
