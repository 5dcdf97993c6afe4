"""Credentials for one Wix site: a site owner's API key, or an app installed on the site (OAuth app instance).

Secrets never appear in reprs: ``repr(auth)`` masks them, so an auth object can be logged safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ApiKeyAuth", "AppInstanceAuth", "Auth"]

_MASK = "'***'"


@dataclass(frozen=True)
class ApiKeyAuth:
    """A site owner's API key for one site: sent raw as ``Authorization`` with ``wix-site-id``."""

    api_key: str = field(repr=False)
    site_id: str

    @property
    def limiter_key(self) -> str:
        """Requests are rate-limited per site."""
        return self.site_id

    def __repr__(self) -> str:
        return f"ApiKeyAuth(api_key={_MASK}, site_id={self.site_id!r})"


@dataclass(frozen=True)
class AppInstanceAuth:
    """An app installed on a site: access tokens come from ``POST /oauth2/token`` (client credentials)."""

    app_id: str
    app_secret: str = field(repr=False)
    instance_id: str

    @property
    def limiter_key(self) -> str:
        """Wix limits requests per app instance, i.e. per site."""
        return self.instance_id

    @property
    def token_key(self) -> tuple[str, str]:
        """Tokens are cached per (app, instance)."""
        return (self.app_id, self.instance_id)

    def __repr__(self) -> str:
        return (
            f"AppInstanceAuth(app_id={self.app_id!r}, app_secret={_MASK}, "
            f"instance_id={self.instance_id!r})"
        )


Auth = ApiKeyAuth | AppInstanceAuth
