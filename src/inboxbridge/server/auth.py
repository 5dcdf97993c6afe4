"""Who may use the admin API and the dashboard, and protection of their state-changing requests.

``[admin]`` gives a username and password (HTTP basic auth, what a browser asks for) and optionally a token
(``Authorization: Bearer <token>``, for scripts). Without ``[admin]`` every admin request is refused with 403 and
a message saying how to turn it on.

Browsers send basic-auth credentials with every request to the site, cross-site form posts included, so
state-changing requests are refused when the browser says they come from another origin (``Origin``,
``Sec-Fetch-Site``); dashboard forms must also carry the browser's random form token
(:mod:`inboxbridge.server.dashboard.csrf`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from inboxbridge.config import AdminSettings, Settings

__all__ = ["ADMIN_OFF", "require_admin", "same_origin"]

ADMIN_OFF = (
    "the admin API and dashboard are off: add an [admin] table with a password (and optionally a token) "
    "to the config, or set INBOXBRIDGE_ADMIN__PASSWORD"
)
_REALM = 'Basic realm="inboxbridge admin", charset="UTF-8"'
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _authorized(admin: AdminSettings, header: str) -> bool:
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and admin.token is not None:
        return _equal(value, admin.token.get_secret_value())
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    username, sep, password = decoded.partition(":")
    # Both compared always, so the time taken does not tell which one was wrong.
    user_ok = _equal(username, admin.username)
    password_ok = _equal(password, admin.password.get_secret_value())
    return bool(sep) and user_ok and password_ok


def same_origin(request: Request) -> bool:
    """False when the browser tells us the request comes from another site."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # Browsers send Origin on every cross-origin POST; none means a script or a same-origin navigation.
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def require_admin(request: Request) -> None:
    """FastAPI dependency: the request carries the admin credentials, and is not a cross-site write."""
    settings: Settings = request.app.state.service.settings
    admin = settings.admin
    if admin is None:
        raise HTTPException(status_code=403, detail=ADMIN_OFF)
    header = request.headers.get("authorization", "")
    if not _authorized(admin, header):
        raise HTTPException(status_code=401, detail="admin credentials required", headers={"WWW-Authenticate": _REALM})
    if request.method in _UNSAFE and not same_origin(request):
        raise HTTPException(status_code=403, detail="cross-site request refused")
