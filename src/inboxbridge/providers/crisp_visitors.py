"""Crisp visitors by conversation, through Crisp's REST API: the conversation's metas (``GET
/v1/website/{website_id}/conversation/{session_id}/meta``) hold the nickname, email and phone the visitor gave.

Crisp's message web hooks name the visitor only by nickname and session, so a message's customer is the session
(``crisp:<website_id>/<session_id>``) and its email is looked up here. Crisp authenticates with HTTP Basic auth
on a token keypair (identifier and key) and an ``X-Crisp-Tier`` header (``plugin`` for Marketplace tokens), and
answers ``{"error": false, "reason": "resolved", "data": {...}}``, or ``"error": true`` with a reason.
"""

from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import quote

from pydantic import SecretStr

from inboxbridge.providers.base import CustomerLookupError, FoundCustomer
from inboxbridge.providers.helpers.lookup import TtlCache, get_json
from inboxbridge.providers.helpers.values import object_at, split_name, string_at

__all__ = ["REF_PREFIX", "CrispVisitors", "session_ref"]

REF_PREFIX = "crisp:"


def session_ref(website_id: str, session_id: str) -> str:
    """The event's ``customer_ref`` for the visitor of Crisp conversation ``session_id``."""
    return f"{REF_PREFIX}{website_id}/{session_id}"


def _words(body: Any) -> str | None:
    """Crisp's explanation in an error answer: its ``reason``, and ``data.message`` when there is one."""
    reason, message = string_at(body, "reason"), string_at(object_at(body, "data"), "message")
    return f"{reason} ({message})" if reason and message else reason or message


class CrispVisitors:
    """Looks visitors up by conversation with a Crisp token keypair, keeping each answer ``cache_seconds``."""

    def __init__(
        self,
        identifier: SecretStr,
        key: SecretStr,
        *,
        tier: Literal["plugin", "user"],
        base_url: str,
        timeout_seconds: float,
        cache_seconds: float,
    ) -> None:
        self._identifier = identifier
        self._key = key
        self._tier = tier
        self._base = base_url.rstrip("/")
        self._timeout = timeout_seconds
        self._cache: TtlCache[FoundCustomer] = TtlCache(cache_seconds)

    async def find(self, ref: str) -> FoundCustomer:
        """The email, phone and nickname the visitor of ``ref`` (``crisp:<website>/<session>``) gave, as far as
        they gave any; a refusal raises :class:`CustomerLookupError`."""
        website_id, slash, session_id = ref.removeprefix(REF_PREFIX).partition("/")
        if not ref.startswith(REF_PREFIX) or not (website_id and slash and session_id):
            raise CustomerLookupError(f"{ref!r} is not a Crisp conversation reference", retryable=False)
        cached = self._cache.get(ref)
        if cached is not None:
            return cached
        identifier, secret = self._identifier.get_secret_value().strip(), self._key.get_secret_value().strip()
        token = base64.b64encode(f"{identifier}:{secret}".encode()).decode()
        body = await get_json(
            f"{self._base}/v1/website/{quote(website_id, safe='')}/conversation/{quote(session_id, safe='')}/meta",
            provider="Crisp",
            headers={"Authorization": f"Basic {token}", "X-Crisp-Tier": self._tier, "Accept": "application/json"},
            timeout_seconds=self._timeout,
            words=_words,
            secrets=(identifier, secret, token),
        )
        if not isinstance(body, dict) or body.get("error") is not False:
            said = _words(body) or "no data"
            raise CustomerLookupError(f"Crisp answered the conversation's metas with an error: {said}", retryable=True)
        found = _read(object_at(body, "data"))
        self._cache.put(ref, found)
        return found


def _read(meta: dict[str, Any]) -> FoundCustomer:
    email, phone = string_at(meta, "email"), string_at(meta, "phone")
    first, last = split_name(string_at(meta, "nickname"))
    return FoundCustomer(emails=(email,) if email else (), phone=phone, first_name=first, last_name=last)
