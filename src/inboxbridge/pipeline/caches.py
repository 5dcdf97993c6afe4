"""Where the pipeline remembers contact and conversation ids between events.

The service keeps them in its store (shared by every node); the library API keeps them in memory. Both satisfy
:class:`IdCache`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

__all__ = ["IdCache", "MemoryIdCache"]


class IdCache(Protocol):
    """Contact ids by customer, and conversation ids by contact, each with an expiry."""

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None: ...

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None: ...

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None: ...

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None: ...

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None: ...

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int: ...


class MemoryIdCache:
    """An :class:`IdCache` in this process's memory, for the library API and tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._contacts: dict[tuple[str, str], tuple[list[str], float]] = {}
        self._conversations: dict[tuple[str, str], tuple[str, float]] = {}

    async def get_cached_contacts(self, tenant: str, customer_key: str) -> list[str] | None:
        """The contact ids remembered for the customer, unless expired."""
        entry = self._contacts.get((tenant, customer_key))
        if entry is None or entry[1] <= self._clock():
            return None
        return list(entry[0])

    async def put_cached_contacts(
        self, tenant: str, customer_key: str, contact_ids: Sequence[str], ttl_seconds: float
    ) -> None:
        """Remember the customer's contact ids for ``ttl_seconds``."""
        self._contacts[(tenant, customer_key)] = (list(contact_ids), self._clock() + ttl_seconds)

    async def drop_cached_contacts(self, tenant: str, customer_key: str) -> None:
        """Forget the customer's contact ids."""
        self._contacts.pop((tenant, customer_key), None)

    async def get_cached_conversation(self, tenant: str, contact_id: str) -> str | None:
        """The conversation id remembered for the contact, unless expired."""
        entry = self._conversations.get((tenant, contact_id))
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    async def put_cached_conversation(
        self, tenant: str, contact_id: str, conversation_id: str, ttl_seconds: float
    ) -> None:
        """Remember the contact's conversation id for ``ttl_seconds``."""
        self._conversations[(tenant, contact_id)] = (conversation_id, self._clock() + ttl_seconds)

    async def drop_cached_conversations(self, tenant: str, conversation_ids: Sequence[str]) -> int:
        """Forget every cached conversation of the tenant whose id is listed; returns how many."""
        doomed = set(conversation_ids)
        keys = [k for k, (cid, _) in self._conversations.items() if k[0] == tenant and cid in doomed]
        for key in keys:
            del self._conversations[key]
        return len(keys)
