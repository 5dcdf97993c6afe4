"""The dashboard forms' CSRF token: a double-submit cookie.

When a page is rendered for a browser that has no token yet, a random one is set in a cookie (``HttpOnly``,
``SameSite=Strict``, ``Path=/admin``, ``Secure`` over https); every form on the page carries the same value. A
form post is accepted only when the form's value and the cookie's match: another site can make a browser post,
but cannot read the cookie to put its value in the form. The server keeps nothing, so a form rendered by one node
is accepted by any other, and the token, being random, tells nothing about the admin password. The Origin and
``Sec-Fetch-Site`` check (:func:`inboxbridge.server.auth.same_origin`) stays in front of it.
"""

from __future__ import annotations

import hmac
import re
import secrets

from fastapi import HTTPException, Request, Response

__all__ = ["COOKIE", "FIELD", "page_token", "set_cookie", "verify"]

COOKIE = "inboxbridge_csrf"
FIELD = "csrf"
_PATH = "/admin"
_WELL_FORMED = re.compile(r"[0-9a-f]{64}")
_NO_COOKIE = (
    "form refused: this browser sent no dashboard cookie with it (are cookies blocked for this site?); "
    "reload the page and submit again"
)
_MISMATCH = "form refused: its token does not match this browser's dashboard cookie; reload the page and submit again"


def page_token(request: Request) -> tuple[str, bool]:
    """The token the forms of a page for ``request`` carry: the browser's, or a new one (then ``True``: the
    answer must set it with :func:`set_cookie`)."""
    given = request.cookies.get(COOKIE, "")
    if _WELL_FORMED.fullmatch(given):
        return given, False
    return secrets.token_hex(32), True


def set_cookie(request: Request, response: Response, token: str) -> None:
    """Give the browser ``token`` for the dashboard's paths; ``Secure`` when it came over https."""
    response.set_cookie(
        COOKIE, token, path=_PATH, secure=request.url.scheme == "https", httponly=True, samesite="strict"
    )


def verify(request: Request, given: str | None) -> None:
    """Refuse (403, saying why) a form whose token is missing or differs from the browser's cookie."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise HTTPException(403, _NO_COOKIE)
    if not given or not hmac.compare_digest(given.encode(), cookie.encode()):
        raise HTTPException(403, _MISMATCH)
