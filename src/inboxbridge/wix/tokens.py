"""The cache of OAuth access tokens for app instances.

One token per (app id, instance id), reused until shortly before it expires. When several callers need a new
token at once, one of them fetches it and the others wait for that same token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from inboxbridge.wix.auth import AppInstanceAuth

__all__ = ["AccessToken", "TokenCache"]

REFRESH_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class AccessToken:
    """A token from ``POST /oauth2/token`` and its lifetime in seconds."""

    value: str = field(repr=False)
    expires_in: float

    def __repr__(self) -> str:
        return f"AccessToken(value='***', expires_in={self.expires_in!r})"


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    token: str | None = field(default=None, repr=False)
    fresh_until: float = 0.0


Fetcher = Callable[[AppInstanceAuth], Awaitable[AccessToken]]


class TokenCache:
    """Access tokens per (app id, instance id), fetched with ``fetch`` when missing, stale or refused."""

    def __init__(self, fetch: Fetcher, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._slots: dict[tuple[str, str], _Slot] = {}

    def __repr__(self) -> str:
        return f"TokenCache(tokens={len(self._slots)})"

    async def get(self, auth: AppInstanceAuth, *, refused: str | None = None) -> str:
        """A usable token for ``auth``.

        ``refused`` is a token Wix just answered 401 to: it is not handed out again, but if another caller has
        already replaced it, that newer token is returned without a second fetch.
        """
        slot = self._slots.setdefault(auth.token_key, _Slot())
        if self._usable(slot, refused):
            assert slot.token is not None
            return slot.token
        async with slot.lock:
            if self._usable(slot, refused):
                assert slot.token is not None
                return slot.token
            started = self._clock()
            token = await self._fetch(auth)
            slot.token = token.value
            # Tokens shorter-lived than two margins would never be reused; keep those for half their life.
            margin = min(REFRESH_MARGIN_SECONDS, token.expires_in / 2)
            slot.fresh_until = started + token.expires_in - margin
            return token.value

    def _usable(self, slot: _Slot, refused: str | None) -> bool:
        return slot.token is not None and slot.token != refused and self._clock() < slot.fresh_until

    def forget(self, auth: AppInstanceAuth) -> None:
        """Drop ``auth``'s cached token (e.g. after the app was removed from the site)."""
        slot = self._slots.get(auth.token_key)
        if slot is not None:
            slot.token = None
            slot.fresh_until = 0.0
