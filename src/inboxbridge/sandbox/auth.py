"""Wix authentication: API keys with ``wix-site-id``, and OAuth access tokens of app instances."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers

from .errors import FieldViolation, WixHTTPError, app_error, validation_error
from .runtime import Sandbox

__all__ = ["Caller", "authenticate", "issue_token"]


@dataclass(frozen=True)
class Caller:
    """Who made a request: the site it acts on, how it proved it, and the identity Wix records as sender."""

    site_id: str
    auth_kind: str
    subject: str
    app_id: str | None
    identity: dict[str, str]


def _unauthenticated(message: str) -> WixHTTPError:
    return app_error(401, "UNAUTHENTICATED", message)


def _forbidden(message: str) -> WixHTTPError:
    return app_error(403, "PERMISSION_DENIED", message)


def key_id(api_key: str) -> str:
    """A stable, non-secret name for an API key, for the request log."""
    return "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:12]


def authenticate(sandbox: Sandbox, headers: Headers) -> Caller:
    """The caller of a Wix request, or Wix's 401/403 answer.

    Wix reads the raw ``Authorization`` value: an access token, or an API key that must come with
    ``wix-site-id`` naming a site the key belongs to.
    """
    credential = headers.get("authorization", "").strip()
    if not credential:
        raise _unauthenticated("missing Authorization header")
    token = sandbox.state.token(credential)
    if token is not None:
        if token["expires_at"] <= sandbox.clock():
            raise _unauthenticated("access token expired")
        instance = sandbox.state.instance(token["instance_id"])
        if instance is None:
            raise _unauthenticated("access token revoked: the app was removed from the site")
        return Caller(
            site_id=instance["site_id"],
            auth_kind="oauth",
            subject=token["instance_id"],
            app_id=token["app_id"],
            identity={"appId": token["app_id"]},
        )
    key_site = sandbox.state.api_key_site(credential)
    if key_site is None:
        raise _unauthenticated("invalid access token or API key")
    site_header = headers.get("wix-site-id")
    account_header = headers.get("wix-account-id")
    if site_header and account_header:
        raise _forbidden("send exactly one of wix-site-id and wix-account-id")
    if not site_header:
        raise _forbidden("an API key needs the wix-site-id header for site-level APIs")
    if site_header != key_site:
        raise _forbidden(f"the API key has no permission for site {site_header}")
    site = sandbox.state.site(key_site)
    owner = site["owner_id"] if site else key_site
    return Caller(
        site_id=key_site,
        auth_kind="apiKey",
        subject=key_id(credential),
        app_id=None,
        identity={"wixUserId": owner},
    )


def issue_token(sandbox: Sandbox, body: Any) -> dict[str, Any]:
    """Answer ``POST /oauth2/token`` (client credentials for one app instance)."""
    if not isinstance(body, dict):
        raise validation_error([FieldViolation("", "request body must be a JSON object", "TYPE")])
    missing = [k for k in ("grant_type", "client_id", "client_secret", "instance_id") if not body.get(k)]
    if missing:
        raise validation_error([FieldViolation(k, "is required", "REQUIRED_FIELD") for k in missing])
    if body["grant_type"] != "client_credentials":
        raise validation_error([FieldViolation("grant_type", "must be client_credentials", "INVALID_ENUM_VALUE")])
    app = sandbox.apps.get(str(body["client_id"]))
    if app is None or not secrets.compare_digest(str(body["client_secret"]), app.app_secret):
        raise _unauthenticated("invalid client_id or client_secret")
    instance = sandbox.state.instance(str(body["instance_id"]))
    if instance is None or instance["app_id"] != app.app_id:
        raise _forbidden("the app is not installed on this instance")
    token = "OauthNG.JWS." + secrets.token_urlsafe(32)
    ttl = sandbox.config.token_ttl_seconds
    sandbox.state.put_token(token, app.app_id, instance["instance_id"], sandbox.clock() + ttl)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl}
