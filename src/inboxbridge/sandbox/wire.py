"""What every Wix route shares: authentication, rate limit, faults, JSON bodies and error answers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import Caller, authenticate
from .errors import FieldViolation, WixHTTPError, app_error, validation_error
from .runtime import Sandbox

__all__ = ["Handler", "error_response", "read_json", "wix_route"]

Handler = Callable[[Request, Sandbox, Caller | None], Awaitable[dict[str, Any]]]
_log = logging.getLogger(__name__)


def error_response(error: WixHTTPError) -> Response:
    """Wix's answer for an error: JSON body, or an empty body (as Wix's 5xx often have)."""
    if error.body is None:
        return Response(status_code=error.status, headers=error.headers)
    return JSONResponse(error.body, status_code=error.status, headers=error.headers)


async def read_json(request: Request) -> Any:
    """The request body as JSON; Wix answers 400 to another content type or to malformed JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise validation_error(
            [FieldViolation("Content-Type", "must be application/json", "FORMAT")],
            "request content type must be application/json",
        )
    raw = await request.body()
    try:
        return json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise validation_error(
            [FieldViolation("", "request body is not valid JSON", "FORMAT")], "malformed JSON in request body"
        ) from None


def wix_route(handler: Handler, *, authenticated: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with Wix's auth, the site's rate limit and the configured faults.

    ``slowThenSucceed`` waits after the handler ran, so a client that times out does so after the write.
    """

    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        delay_after = 0.0
        try:
            caller = authenticate(sandbox, request.headers) if authenticated else None
            if caller is not None:
                request.state.site_id = caller.site_id
                request.state.auth_kind = caller.auth_kind
                request.state.token_subject = caller.subject
                if not sandbox.limiter.allow(caller.site_id):
                    raise app_error(429, "TOO_MANY_REQUESTS", "rate limit exceeded: too many requests per minute")
            decision = sandbox.faults.decide(request.url.path)
            if decision.delay_before:
                await asyncio.sleep(decision.delay_before)
            if decision.status is not None:
                headers = {"Retry-After": f"{decision.retry_after:g}"} if decision.retry_after is not None else {}
                body = None
                if decision.status == 429:
                    body = app_error(429, "TOO_MANY_REQUESTS", "rate limit exceeded").body
                raise WixHTTPError(decision.status, body, headers)
            delay_after = decision.delay_after
            response: Response = JSONResponse(await handler(request, sandbox, caller))
        except WixHTTPError as error:
            response = error_response(error)
        except Exception:
            _log.exception("sandbox route failed on %s %s", request.method, request.url.path)
            response = Response(status_code=500)
        if delay_after:
            await asyncio.sleep(delay_after)
        return response

    return endpoint
