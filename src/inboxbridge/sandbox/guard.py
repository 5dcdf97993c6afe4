"""What keeps web pages away from the sandbox's ``/_sandbox`` routes.

They have no authentication: whatever reaches the sandbox may reset it, seed it, or have it sign app events and
send them to the service. Tests and command-line tools should; a web page the developer happens to visit must
not. A browser sends a cross-origin POST of ``text/plain`` (JSON in disguise) without asking first, so every
request but a read (GET, kept open for links such as the dashboard's) must:

- send its body, if any, as ``application/json`` (415 otherwise): a page can send that to another origin only
  after a CORS preflight, which the sandbox never grants;
- not come, by the browser's own account, from another origin (403): ``Sec-Fetch-Site`` other than
  ``same-origin`` or ``none``, or an ``Origin`` that is not the sandbox's own. An origin counts as the sandbox's
  own only when it names the address the request was sent to and that address is an IP address or
  ``localhost``: any other name could be pointed at 127.0.0.1 by its owner (DNS rebinding), making their page
  same-origin with the sandbox.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["guarded"]

Endpoint = Callable[[Request], Awaitable[Response]]
_READS = frozenset({"GET", "HEAD"})
_BROWSER_OWN = frozenset({"same-origin", "none"})


def _cannot_be_rebound(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _foreign(request: Request) -> str | None:
    """Why the browser's headers say the request comes from another origin; None when they do not."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in _BROWSER_OWN:
        return f"Sec-Fetch-Site is {fetch_site}"
    origin = request.headers.get("origin")
    if origin is None:
        return None
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin != own:
        return f"Origin {origin} is not the sandbox's own ({own})"
    hostname = urlsplit(origin).hostname or ""
    if not _cannot_be_rebound(hostname):
        return f"Origin {origin} names a host by a name other than localhost, not by its address"
    return None


def _json_body(request: Request, body: bytes) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return not body.strip() or content_type == "application/json"


def guarded(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` behind the checks above, for every method but GET and HEAD."""

    async def guard(request: Request) -> Response:
        if request.method in _READS:
            return await endpoint(request)
        foreign = _foreign(request)
        if foreign is not None:
            message = (
                f"cross-origin request refused: {foreign}. The sandbox's /_sandbox routes take requests from "
                "tests and tools on this machine, not from web pages"
            )
            return JSONResponse({"message": message}, status_code=403)
        if not _json_body(request, await request.body()):
            given = request.headers.get("content-type") or "none"
            message = f"the body must be sent as Content-Type: application/json (got {given})"
            return JSONResponse({"message": message}, status_code=415)
        return await endpoint(request)

    return guard
