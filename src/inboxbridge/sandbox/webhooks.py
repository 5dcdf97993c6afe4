"""App webhooks as Wix sends them: a JWT body signed RS256 with the app's key, POSTed as text.

The JWT's claims are ``{"data": "<JSON string>", "iat", "exp"}``; the JSON string holds ``eventType``,
``instanceId``, ``data`` (the event payload, itself a JSON string) and ``identity`` (a JSON string).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .config import AppConfig
from .state import SandboxState, new_guid, now_rfc3339

__all__ = [
    "APP_INSTALLED",
    "APP_REMOVED",
    "CONVERSATIONS_MERGED",
    "AppKeys",
    "EventSender",
    "conversations_merged_payload",
    "sign_event",
]

APP_INSTALLED = "AppInstalled"
APP_REMOVED = "AppRemoved"
CONVERSATIONS_MERGED = "wix.crm.inbox.v2.conversation_conversations_merged"
_TTL = 3600
_SEND_TIMEOUT = aiohttp.ClientTimeout(total=5.0)


@dataclass(frozen=True)
class AppKeys:
    """An app's RS256 signing key pair, in PEM."""

    private_pem: str
    public_pem: str

    @classmethod
    def for_app(cls, app: AppConfig) -> AppKeys:
        """The configured key pair, or a new one when the configuration has none."""
        if app.private_key_pem:
            private = serialization.load_pem_private_key(app.private_key_pem.encode(), password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise ValueError(f"app {app.app_id}: private_key_pem must be an RSA key")
        else:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = (
            app.public_key_pem
            or private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cls(private_pem, public_pem)


def sign_event(
    keys: AppKeys, event_type: str, instance_id: str, data: dict[str, Any], identity: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The JWT body of one webhook and its decoded envelope (for the sandbox's own event log)."""
    envelope = {
        "eventType": event_type,
        "instanceId": instance_id,
        "data": json.dumps(data),
        "identity": json.dumps(identity),
    }
    now = int(time.time())
    token = jwt.encode(
        {"data": json.dumps(envelope), "iat": now, "exp": now + _TTL}, keys.private_pem, algorithm="RS256"
    )
    return token, {**envelope, "data": data, "identity": identity}


def conversations_merged_payload(old_ids: list[str], target_id: str) -> dict[str, Any]:
    """The ``data`` of a conversations-merged event: a domain event with an action body."""
    return {
        "id": new_guid(),
        "entityFqdn": "wix.crm.inbox.v2.conversation",
        "slug": "conversations_merged",
        "entityId": target_id,
        "eventTime": now_rfc3339(),
        "triggeredByAnonymizeRequest": False,
        "actionEvent": {"body": {"oldConversationIds": old_ids, "targetConversationId": target_id}},
    }


class EventSender:
    """Signs and POSTs app events, recording each attempt in the state's event log."""

    def __init__(self, state: SandboxState, apps: dict[str, AppConfig], keys: dict[str, AppKeys]) -> None:
        self._state = state
        self._apps = apps
        self._keys = keys

    async def send(
        self, app_id: str, instance_id: str, event_type: str, data: dict[str, Any], identity: dict[str, Any]
    ) -> dict[str, Any]:
        """Deliver one event to the app's webhook URL (if it has one); returns what happened."""
        app = self._apps[app_id]
        token, envelope = sign_event(self._keys[app_id], event_type, instance_id, data, identity)
        status: int | None = None
        error: str | None = None
        if app.webhook_url:
            try:
                async with (
                    aiohttp.ClientSession(timeout=_SEND_TIMEOUT) as client,
                    client.post(
                        app.webhook_url,
                        data=token.encode(),
                        headers={"Content-Type": "text/plain; charset=utf-8"},
                        # The event log records the status the app's URL answered with, not a redirect's target's.
                        allow_redirects=False,
                    ) as answer,
                ):
                    status = answer.status
            # aiohttp raises a bare TimeoutError when the whole send outlasts its timeout.
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        else:
            error = "the app has no webhook_url"
        self._state.log_event(
            app_id, instance_id, event_type, app.webhook_url, status, error, envelope, token, time.time()
        )
        return {
            "appId": app_id,
            "instanceId": instance_id,
            "eventType": event_type,
            "url": app.webhook_url,
            "status": status,
            "error": error,
        }
