"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from inboxbridge.server.context import ServerContext
from inboxbridge.store import StoreUnavailable

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="The store answers", responses={503: {"description": "Store unreachable"}})
async def readyz(request: Request) -> JSONResponse:
    """200 when the store answers a query, 503 (with the reason) when it does not."""
    service: ServerContext = request.app.state.service
    try:
        await service.ping()
    except StoreUnavailable as exc:
        return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ready"})
