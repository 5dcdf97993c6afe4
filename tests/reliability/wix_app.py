"""A Wix app for the in-process service: its key pair, app events signed as Wix signs them, and the
``[wix_app]`` table whose template holds every source that can serve every installed site."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from e2e.harness import rsa_key_pair
from inboxbridge.providers import parse_source_config
from inboxbridge.site_secrets import site_secrets

from .connectors import CONNECTORS, Connector

__all__ = ["ISSUED", "TEMPLATED", "WixApp", "site_secret", "template_secret"]

APP_ID = "aaaaaaaa-0000-4000-8000-0000000000f1"
TEMPLATED = [c for c in CONNECTORS if c.name in ("generic", "standard", "calendly", "sendgrid", "postmark")]
"""The connectors whose secret we choose: each site gets its own, derived from the template's."""
ISSUED = [c for c in CONNECTORS if c not in TEMPLATED]
"""The connectors whose secret the provider issues: they cannot be a template."""


def template_secret(connector: Connector) -> str:
    """The template's secret of a connector: long enough to be the key of every site's."""
    return connector.secret if connector.secret.startswith("whsec_") else f"{connector.secret}-template-key"


def site_secret(connector: Connector, tenant: str) -> str:
    """The secret the installed site ``tenant`` has for the connector's template source."""
    config = parse_source_config(connector.config(template_secret(connector)))
    (value,) = site_secrets(config, tenant, connector.name).values()
    return value


@dataclass(frozen=True)
class WixApp:
    """The app's key pair, and events signed with it."""

    private_pem: str
    public_pem: str

    @classmethod
    def new(cls) -> WixApp:
        """An app with a key pair of its own."""
        return cls(*rsa_key_pair())

    def settings(self) -> dict[str, Any]:
        """The ``[wix_app]`` table: the app, and a template of every connector that can be one."""
        return {
            "app_id": APP_ID,
            "app_secret": "app-secret",
            "public_key": self.public_pem,
            "sources": {c.name: c.config(template_secret(c)) for c in TEMPLATED},
        }

    def event(
        self,
        event_type: str,
        instance_id: str,
        data: dict[str, Any] | None = None,
        *,
        age: int = 0,
        lifetime: int | None = 3600,
        **claims: Any,
    ) -> bytes:
        """A JWT as Wix posts it: issued ``age`` seconds ago, expiring ``lifetime`` seconds after (no ``exp`` when
        None), with ``claims`` on top (``iat=None`` leaves ``iat`` out)."""
        issued = int(time.time()) - age
        envelope = {
            "eventType": event_type,
            "instanceId": instance_id,
            "data": json.dumps(data or {"appId": APP_ID}),
            "identity": json.dumps({"identityType": "WIX_USER", "wixUserId": str(uuid.uuid4())}),
        }
        payload: dict[str, Any] = {"data": json.dumps(envelope), "iat": issued}
        if lifetime is not None:
            payload["exp"] = issued + lifetime
        payload.update(claims)
        return jwt.encode({k: v for k, v in payload.items() if v is not None}, self.private_pem, "RS256").encode()
